// The engine every catalogue setting goes through: read -> diff -> apply ->
// read back and verify. Reads are cached for the run, so one `portgroup list`
// serves every setting that needs it, until a write makes it stale.
import { commandLine, hostSaid, maskSecret, shownCommand } from '../../catalogue/shell'
import type { AnySetting, Change, Command, PlanContext, Reader, Shell } from '../../catalogue/types'
import { maskDeep } from '../log'
import { CommandTimeout, ConnectError, OutputTooLarge } from './ssh'

/** A command that ran and failed; its message carries both streams, as ESXi is inconsistent. */
export class CommandFailed extends Error {}

/**
 * `line` is the command as it may be shown (secrets already masked); what the host said is
 * masked too, in case it echoed a secret back.
 */
export function failureOf(
  line: string,
  r: { stdout: string; stderr: string; code: number | null },
  secrets: readonly string[] = [],
) {
  let said = hostSaid(r)
  for (const s of secrets) said = maskSecret(said, s)
  return new CommandFailed(`\`${line}\` failed (exit ${r.code ?? 'none'}): ${said || 'no output'}`)
}

/**
 * A command's answer; a session lost or silent under it is said with the command (`line`,
 * as it may be shown: secrets masked), which the session itself is not given to name.
 */
async function answerOf(shell: Shell, command: string, line: string) {
  try {
    return await shell.exec(command)
  } catch (err) {
    if (err instanceof CommandTimeout) throw new CommandTimeout(`\`${line}\`: ${err.message}`)
    if (err instanceof OutputTooLarge) throw new OutputTooLarge(`\`${line}\`: ${err.message}`)
    if (err instanceof ConnectError)
      throw new ConnectError(`\`${line}\`: ${err.message}`, err.refused)
    throw err
  }
}

/** A Reader over a shell: each read-only command runs once until `invalidate`. */
export class CachedReader implements Reader {
  private readonly cache: Map<
    string,
    Promise<{ stdout: string; stderr: string; code: number | null }>
  >

  /** `sharing`: a reader of the same run whose cache this one continues. */
  constructor(
    private readonly shell: Shell,
    readonly version: string | null,
    sharing?: CachedReader,
  ) {
    this.cache =
      sharing?.cache ??
      new Map<string, Promise<{ stdout: string; stderr: string; code: number | null }>>()
  }

  probe(words: string[]) {
    const line = commandLine(words)
    let r = this.cache.get(line)
    if (!r) {
      r = answerOf(this.shell, line, line)
      this.cache.set(line, r)
      // A failed read is not remembered: the next one may succeed.
      r.catch(() => this.cache.delete(line))
    }
    return r
  }

  async read(words: string[]): Promise<string> {
    const r = await this.probe(words)
    if (r.code !== 0) {
      this.cache.delete(commandLine(words))
      throw failureOf(commandLine(words), r)
    }
    return r.stdout
  }

  /** After a write, everything read before may be stale. */
  invalidate(): void {
    this.cache.clear()
  }
}

/** Runs one planned command; a non-zero exit throws with what the host said, secrets masked. */
export async function runCommand(
  shell: Shell,
  words: string[],
  secrets: readonly string[] = [],
  known: Command['known'] = [],
): Promise<string> {
  const shown = shownCommand({ words, secrets: [...secrets] })
  const r = await answerOf(shell, commandLine(words), shown)
  if (r.code !== 0) {
    const failure = failureOf(shown, r, secrets)
    const k = known.find((x) => r.stdout.includes(x.said) || r.stderr.includes(x.said))
    throw k ? new CommandFailed(`${failure.message}: ${k.meaning}`) : failure
  }
  return r.stdout
}

/**
 * What a plan shows of one change: its words and its commands with secrets masked, the command's
 * own and, through `mask`, every secret of the spec: a custom step's line may carry one in its
 * text, which no command of its own marks as secret.
 */
export function shownChanges(
  changes: Change[],
  mask: (text: string) => string = (text) => text,
): Array<{ summary: string; commands: string[] }> {
  return changes.map((c) => ({
    summary: mask(c.summary),
    commands: c.commands.map((command) => mask(shownCommand(command))),
  }))
}

/** Masks what a run shows; told each secret a command carries before that command runs. */
export interface Masker {
  /** A secret, as typed and as Midwife quotes it on a command line. */
  addQuoted(secret: string): void
  apply(text: string): string
}

export interface SettingPlan {
  current: unknown
  changes: Change[]
}

export async function planSetting(
  reader: Reader,
  setting: AnySetting,
  wanted: unknown,
  ctx: PlanContext,
): Promise<SettingPlan> {
  const current: unknown = await setting.read(reader, ctx, wanted)
  return { current, changes: setting.diff(current, wanted, ctx) }
}

/** Whether what was read back is what was wanted. */
export function verified(setting: AnySetting, after: unknown, wanted: unknown, ctx: PlanContext) {
  return setting.verify
    ? setting.verify(after, wanted, ctx)
    : setting.diff(after, wanted, ctx).length === 0
}

export interface ApplyResult {
  /** How many write commands ran: 0 when the host already matched. */
  writes: number
  before: unknown
  after: unknown
  /**
   * The login password changed (ctx.loginPassword holds the new one): log in again with it
   * before the old one is forgotten.
   */
  relogin: boolean
  /**
   * The commands run where they differ from the approved plan's for this setting (the host
   * changed since it was planned, or an earlier attempt got part way); null when as planned.
   */
  notAsPlanned: { planned: string[]; ran: string[] } | null
}

/** Runs a change's undo after one of its commands failed; says how it went, in words. */
async function putBack(
  shell: Shell,
  undo: NonNullable<Change['undo']>,
  out: (text: string) => void,
): Promise<string> {
  out(`- ${undo.summary}\n`)
  const failed: string[] = []
  for (const command of undo.commands) {
    try {
      await runCommand(shell, command.words, command.secrets)
    } catch (err) {
      failed.push((err as Error).message)
    }
  }
  return failed.length === 0
    ? `${undo.summary} (done)`
    : `${undo.summary} failed too: ${failed.join('; ')}`
}

/**
 * read -> diff -> apply what differs -> read back and verify, for a setting
 * that keeps the SSH connection. `out` gets the words an operator reads.
 */
export async function applySetting(
  shell: Shell,
  reader: CachedReader,
  setting: AnySetting,
  wanted: unknown,
  ctx: PlanContext,
  out: (text: string) => void,
  /**
   * Masks the commands the run compares with the plan (and the audit keeps), as the plan masked
   * them; told every secret a command carries before it runs, so output can mask it.
   */
  mask: Masker = { addQuoted: () => undefined, apply: (text) => text },
  /** What the approved plan showed for this setting, when there is one: a run says where it differs. */
  approved?: { current: string; changes: Array<{ commands: string[] }> },
): Promise<ApplyResult> {
  const unsupported = setting.unsupported?.(ctx.version)
  if (unsupported) throw new Error(unsupported)
  // Masked before show(), which may cut a long output (and a secret in it) short.
  const show = (v: unknown) => setting.show(maskDeep(v, (text) => mask.apply(text)))
  const { current, changes } = await planSetting(reader, setting, wanted, ctx)
  const planned = approved?.changes.flatMap((c) => c.commands) ?? null
  const ran = shownChanges(changes, (text) => mask.apply(text)).flatMap((c) => c.commands)
  const notAsPlanned =
    planned !== null && JSON.stringify(planned) !== JSON.stringify(ran) ? { planned, ran } : null
  if (notAsPlanned) {
    out(
      `not as planned: the plan read ${approved?.current ?? '?'} here and planned ${planned?.length ? planned.map((c) => `\`${c}\``).join(', ') : 'nothing'}; the host now reads ${show(current)}, so Midwife does what it needs now\n`,
    )
  }
  if (changes.length === 0) {
    out(`already ${show(current)}; nothing to change\n`)
    return { writes: 0, before: current, after: current, relogin: false, notAsPlanned }
  }
  out(`current: ${show(current)}; wanted: ${show(wanted)}\n`)
  let writes = 0
  for (const change of changes) {
    out(`- ${change.summary}\n`)
    let done = 0
    for (const command of change.commands) {
      for (const s of command.secrets ?? []) mask.addQuoted(s)
      writes++
      try {
        await runCommand(shell, command.words, command.secrets, command.known)
        done++
      } catch (err) {
        if (done === 0 || !change.undo) throw err
        throw new Error(`${(err as Error).message}; ${await putBack(shell, change.undo, out)}`, {
          cause: err,
        })
      } finally {
        reader.invalidate()
      }
    }
  }
  // ESXi accepted the new password, so it is the one the host has now, whatever happens next.
  const relogin = setting.relogin !== undefined
  if (setting.relogin) ctx.loginPassword = setting.relogin(wanted)
  const after: unknown = await setting.read(reader, ctx, wanted)
  if (!verified(setting, after, wanted, ctx)) {
    throw new Error(`verification failed: read back ${show(after)}, wanted ${show(wanted)}`)
  }
  out(`verified: ${show(after)}\n`)
  return { writes, before: current, after, relogin, notAsPlanned }
}
