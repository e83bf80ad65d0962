import { z } from 'zod'
import { parseKeyValues, type Row } from '../parse'
import { esxcli, hostSaid } from '../shell'
import { defineSetting, type Change } from '../types'

export interface AdvancedOption {
  /** /UserVars/SuppressShellWarning (UserVars.SuppressShellWarning is accepted and normalised). */
  path: string
  /** Whole number or text; the host's `Type:` line decides which the option takes. */
  value: number | string
  /** Read only: the option's type, as the host reports it. */
  type?: 'integer' | 'string'
  /** Read only: the range the host gives an integer option. */
  min?: number
  max?: number
}

const SEGMENT = /^[A-Za-z0-9_-]+$/

/** /UserVars/SuppressShellWarning or UserVars.SuppressShellWarning -> /UserVars/SuppressShellWarning */
export function optionPath(raw: string): string | null {
  const s = raw.trim()
  const segments = s.startsWith('/') ? s.slice(1).split('/') : s.split('.')
  return segments.length >= 2 && segments.every((seg) => SEGMENT.test(seg))
    ? `/${segments.join('/')}`
    : null
}

const listed = (path: string) => esxcli('system', 'settings', 'advanced', 'list', '-o', path)

/** Why a value starting with '-' is refused. */
const dashProblem = (path: string) =>
  `${path}: a value starting with '-' would be read by esxcli as an option, not as the value; set it with a custom step whose command you have checked on your hosts`

const shown = (v: number | string) => (typeof v === 'number' ? String(v) : JSON.stringify(v))

/**
 * The value the host will hold, in the option's own type. The form and CSV give text, so a whole
 * number written as text is taken for an integer option; anything else that does not fit is
 * refused here, before a command runs.
 */
function typed(wanted: AdvancedOption, current: AdvancedOption): number | string {
  // The schema refuses it; a value saved before it did is refused here, before a command runs.
  if (String(wanted.value).trim().startsWith('-')) throw new Error(dashProblem(wanted.path))
  if (current.type === 'string') return String(wanted.value)
  const n =
    typeof wanted.value === 'number'
      ? wanted.value
      : /^-?\d+$/.test(wanted.value.trim())
        ? Number(wanted.value)
        : null
  if (n === null) {
    throw new Error(
      `${wanted.path} is an integer option on this host; ${shown(wanted.value)} is not a whole number`,
    )
  }
  const { min, max } = current
  // ESXi prints 0 and 0 for options without a range.
  if (min !== undefined && max !== undefined && max > min && (n < min || n > max)) {
    throw new Error(`${wanted.path} takes ${min} to ${max} on this host, not ${n}`)
  }
  return n
}

/**
 * The option's type: its `Type:` line, or, where the host prints none (esxi.md shows only
 * `   Int Value: 1`), the value line it prints. A host that prints both value lines and no type
 * leaves it to the wanted value: a whole number is an integer.
 */
function optionType(kv: Row, wanted: AdvancedOption): 'integer' | 'string' | null {
  const t = kv['Type']
  if (t === 'integer' || t === 'string') return t
  if (t !== undefined) return null
  const int = /^-?\d+$/.test(kv['Int Value'] ?? '')
  const str = kv['String Value'] !== undefined
  if (int && !str) return 'integer'
  if (str && !int) return 'string'
  if (!int) return null
  return typeof wanted.value === 'number' || /^-?\d+$/.test(wanted.value.trim())
    ? 'integer'
    : 'string'
}

/**
 * Advanced options as a table of typed values. Each is read with `advanced list -o PATH`, set
 * with `-i` or `-s` as its `Type:` line says, and read back; an option the host does not have
 * fails with ESXi's own words.
 */
/** Options another setting manages, by lower-cased path, with that setting's title. */
const OWNED: Record<string, string> = {
  '/syslog/global/logdir': 'Syslog',
  '/syslog/global/loghost': 'Syslog',
}

export const advanced = defineSetting<AdvancedOption[]>({
  key: 'advanced',
  title: 'Advanced settings',
  group: 'advanced',
  description:
    'ESXi advanced options by path (/UserVars/SuppressShellWarning or UserVars.SuppressShellWarning); each is set in the type the host gives it and read back.',
  example: [
    { path: '/UserVars/SuppressShellWarning', value: 1 },
    { path: 'UserVars.ESXiShellInteractiveTimeOut', value: 900 },
    { path: '/Net/TcpipHeapMax', value: 1536 },
  ],
  value: z
    .array(
      z.object({
        path: z.string({ message: 'an option path is text' }).transform((s, ctx) => {
          const path = optionPath(s)
          if (path === null) {
            ctx.addIssue({
              code: 'custom',
              message: `${s.trim() || 'an empty path'} is not an advanced option path like /UserVars/SuppressShellWarning or UserVars.SuppressShellWarning`,
            })
            return z.NEVER
          }
          return path
        }),
        value: z.union([z.number().int('an option takes a whole number or text'), z.string()], {
          message: 'an option takes a whole number or text',
        }),
      }),
    )
    .superRefine((list, ctx) => {
      const seen = new Set<string>()
      list.forEach((o, i) => {
        // The value is the word after -i or -s: esxi.md gives no form that keeps a word starting
        // with '-' (a negative number too) from being read as an option of its own.
        if (String(o.value).trim().startsWith('-')) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'value'],
            message: dashProblem(o.path),
          })
        }
      })
      for (const o of list) {
        if (seen.has(o.path)) ctx.addIssue({ code: 'custom', message: `${o.path} is listed twice` })
        seen.add(o.path)
        // Two settings managing one value would each undo the other on every run.
        const owner = OWNED[o.path.toLowerCase()]
        if (owner) {
          ctx.addIssue({
            code: 'custom',
            message: `${o.path} belongs to the ${owner} setting: set it there`,
          })
        }
      }
    }),
  scope: 'site',
  field: {
    kind: 'table',
    columns: [
      {
        key: 'path',
        title: 'Option',
        field: { kind: 'text', placeholder: '/UserVars/SuppressShellWarning' },
      },
      { key: 'value', title: 'Value', field: { kind: 'text', placeholder: '1' } },
    ],
    hint: 'Whole numbers for integer options, text for string options, as the host says.',
  },
  async read(r, _ctx, wanted) {
    const out: AdvancedOption[] = []
    for (const w of wanted) {
      const { path } = w
      const res = await r.probe(listed(path))
      if (res.code !== 0) {
        throw new Error(
          `${path}: ESXi has no such advanced option (it said: ${hostSaid(res) || `exit ${res.code ?? 'none'}`})`,
        )
      }
      const kv = parseKeyValues(res.stdout)
      const type = optionType(kv, w)
      if (type === null) {
        throw new Error(
          `${path}: the host gave no type this setting knows (Type: ${kv['Type'] ?? '-'})`,
        )
      }
      const number = (k: string) => (kv[k] !== undefined ? Number(kv[k]) : undefined)
      out.push(
        type === 'integer'
          ? {
              path,
              type,
              value: number('Int Value') ?? NaN,
              min: number('Min Value'),
              max: number('Max Value'),
            }
          : { path, type, value: kv['String Value'] ?? '' },
      )
    }
    return out
  },
  diff(current, wanted) {
    const changes: Change[] = []
    for (const w of wanted) {
      const c = current.find((o) => o.path === w.path)
      if (!c) throw new Error(`${w.path} was not read from the host`)
      const value = typed(w, c)
      if (value === c.value) continue
      changes.push({
        summary: `${w.path} = ${shown(value)} (was ${shown(c.value)})`,
        commands: [
          {
            words: esxcli(
              'system',
              'settings',
              'advanced',
              'set',
              '-o',
              w.path,
              typeof value === 'number' ? '-i' : '-s',
              String(value),
            ),
          },
        ],
      })
    }
    return changes
  },
  show: (v) => (v.length ? v.map((o) => `${o.path} = ${shown(o.value)}`).join(', ') : '(none)'),
  connection: 'keeps',
})
