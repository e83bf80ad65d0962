import { z } from 'zod'
import { fillLine, fillPattern, lineProblem, patternProblem, stepValues } from '../shell-template'
import { defineSetting, type Change } from '../types'
import { hasInvisible } from '../values'

export interface CustomStep {
  name: string
  /** Shell lines, in order; each runs in its own `sh -c`, and one that fails stops the step. */
  lines: string[]
  /** A read-only command whose output tells whether the step is done. */
  check: string
  /** A regular expression (per line: ^ and $ match at line ends) the check's output matches once the step is done. */
  expect: string
  /** Read only: what the check printed (stdout, then stderr), and whether it matched. */
  found?: { output: string; code: number | null; matches: boolean }
}

// The operator's lines are shell syntax, not words: each goes to the host's ash as the one
// argument of `sh -c`, quoted whole by Midwife like any other word.
const sh = (line: string) => ['sh', '-c', line]

const clip = (s: string) => (s.length > 400 ? `${s.slice(0, 400)}...` : s)

const shellLine = (what: string, empty: string) =>
  z.string({ message: `${what} is text` }).superRefine((s, ctx) => {
    const problem =
      s.trim() === ''
        ? empty
        : /[\r\n]/.test(s)
          ? `${what}: it holds a line break; give one line per entry`
          : s.length > 4096
            ? `${what}: it is over 4,096 characters`
            : hasInvisible(s, { tab: true })
              ? `${what}: it holds a control or invisible character (a NUL, an escape, a direction mark), which the host's shell would not show you`
              : lineProblem(s) && `${what}: ${lineProblem(s)}`
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

function showStep(step: CustomStep): string {
  if (!step.found) return step.name
  if (step.found.matches) return `${step.name}: check matches`
  return `${step.name}: check printed ${JSON.stringify(clip(step.found.output.trim()))} (exit ${step.found.code ?? 'none'}), which does not match /${step.expect}/`
}

/**
 * The operator's own steps. read runs each step's check; diff plans the lines of the steps whose
 * check does not match; the read-back runs the checks again, and a step whose check still does
 * not match fails the setting with what the check printed. Values of ${hostname}, ${domain},
 * ${fqdn} and ${mgmt.ip} are quoted by Midwife. No variable holds a secret; lines are shown in
 * the plan as written.
 */
export const customSteps = defineSetting<CustomStep[]>({
  key: 'customSteps',
  title: 'Custom steps',
  group: 'custom',
  description:
    'Your own shell lines, each step run only when its check command does not print the expected pattern, and checked again afterwards.',
  // Nothing another setting manages: two steps fighting over one value never settle.
  example: [
    {
      name: 'Opt out of the host client CEIP',
      lines: ['esxcli system settings advanced set -o /UserVars/HostClientCEIPOptIn -i 2'],
      check: 'esxcli system settings advanced list -o /UserVars/HostClientCEIPOptIn',
      expect: '^\\s*Int Value: 2$',
    },
    {
      name: 'Keep vmk0 on the MAC of ${hostname}’s first NIC',
      lines: ['esxcli system settings advanced set -o /Net/FollowHardwareMac -i 1'],
      check: 'esxcli system settings advanced list -o /Net/FollowHardwareMac',
      expect: '^\\s*Int Value: 1$',
    },
  ],
  value: z
    .array(
      z.object({
        name: z
          .string({ message: 'a step name is text' })
          .trim()
          .min(1, 'a custom step needs a name')
          .max(80, 'a step name has at most 80 characters')
          .refine(
            (s) => !hasInvisible(s, { tab: true }),
            'a step name has no control or invisible characters',
          ),
        lines: z
          .array(shellLine('a line', 'a line is empty'))
          .min(1, 'a custom step needs at least one line'),
        check: shellLine(
          'the check',
          'a custom step needs a check command, so Midwife can tell whether it is needed',
        ),
        expect: z
          .string({ message: 'the expected pattern is text' })
          .min(1, 'a custom step needs an expected pattern, so it runs only when needed')
          .max(1024, 'the expected pattern is at most 1,024 characters')
          .superRefine((s, ctx) => {
            const problem = patternProblem(s)
            if (problem) ctx.addIssue({ code: 'custom', message: problem })
          }),
      }),
    )
    .superRefine((steps, ctx) => {
      const seen = new Set<string>()
      steps.forEach((s, i) => {
        if (seen.has(s.name))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `two steps are called ${s.name}`,
          })
        seen.add(s.name)
      })
    }),
  scope: 'site',
  field: {
    kind: 'table',
    columns: [
      { key: 'name', title: 'Step', field: { kind: 'text', placeholder: 'Shell timeout' } },
      {
        key: 'lines',
        title: 'Shell lines',
        field: {
          kind: 'lines',
          placeholder: 'esxcli system syslog config set --logdir=/scratch/log/${hostname}',
        },
      },
      {
        key: 'check',
        title: 'Check',
        field: { kind: 'text', placeholder: 'esxcli system syslog config get' },
      },
      {
        key: 'expect',
        title: 'Expected',
        field: { kind: 'text', placeholder: 'Local Log Output: /scratch/log/${hostname}$' },
      },
    ],
    hint: 'Variables: ${hostname}, ${domain}, ${fqdn}, ${mgmt.ip} (Midwife quotes them). The check runs when the plan is made, so it must change nothing. Its output is matched line by line (^ and $ at each line), with blanks and CRs at line ends dropped.',
  },
  async read(r, ctx, wanted) {
    const values = stepValues(ctx)
    const out: CustomStep[] = []
    for (const step of wanted) {
      const res = await r.probe(sh(fillLine(step.check, values)))
      // Matched line by line as esxi.md prints them: blanks and a CR at a line's end dropped.
      const output = (res.stdout + res.stderr).replace(/[ \t]*\r?$/gm, '')
      const pattern = fillPattern(step.expect, values)
      let matches: boolean
      try {
        matches = ctx.match ? ctx.match(pattern, output) : pattern.test(output)
      } catch (err) {
        throw new Error(`custom step ${step.name}: /${step.expect}/ ${(err as Error).message}`, {
          cause: err,
        })
      }
      out.push({ ...step, found: { output, code: res.code, matches } })
    }
    return out
  },
  diff(current, wanted, ctx) {
    const values = stepValues(ctx)
    const changes: Change[] = []
    for (const step of wanted) {
      if (current.find((c) => c.name === step.name)?.found?.matches) continue
      changes.push({
        summary: `custom step ${step.name} (its check does not match /${step.expect}/)`,
        commands: step.lines.map((line) => ({ words: sh(fillLine(line, values)) })),
      })
    }
    return changes
  },
  verify: (after, wanted) =>
    wanted.every((w) => after.find((a) => a.name === w.name)?.found?.matches === true),
  show: (v) => (v.length ? v.map(showStep).join('; ') : '(none)'),
  connection: 'keeps',
})
