// Moving the management network (vmk0's address, the default route, the
// management VLAN) of a running host. The SSH session dies with the old
// address, so no command can report back: a script on the host makes the
// change, checks that the gateway answers, and undoes everything by itself
// unless Midwife confirms from the new address before a deadline (esxi.md,
// "Changing the management address in-band").
import { z } from 'zod'
import { commandLine, esxcli, shellQuote } from '../../catalogue/shell'
import {
  gatewayCommands,
  readDefaultGateway,
  replaceDefaultRoute,
} from '../../catalogue/settings/default-gateway'
import { readVmk0, setVmk0Static } from '../../catalogue/settings/mgmt-address'
import { readManagementVlan, setManagementVlan } from '../../catalogue/settings/mgmt-vlan'
import type { Shell } from '../../catalogue/types'
import { gatewayProblem, ipv4, ipv4Prefix, splitPrefix, vlanId } from '../../catalogue/values'
import { HOST_FUNCTIONS } from '../esxi/host-shell'
import { CachedReader, failureOf } from './apply'

/** vmk0's side of the management network. */
export interface ManagementNetwork {
  address: string
  prefix: number
  /** The default gateway; null: no default route. */
  gateway: string | null
  /** The Management Network port group's VLAN. */
  vlan: number
  /** vmk0 takes its address from DHCP (a rollback returns it to DHCP). Never for a target. */
  dhcp?: boolean
}

/** An SSH session to the host, as the run holds one. */
export type Session = Shell & { close(): void }

export interface MoveOptions {
  /** Opens a session at an address, with the host's pinned host keys; throws when nobody (or another host) answers. */
  connect(address: string): Promise<Session>
  /** The management network as planned from the host; checked against the host before anything changes. */
  from: ManagementNetwork
  to: ManagementNetwork
  /** How long the host waits for Midwife to confirm from the new address before it rolls back. */
  deadlineMs: number
  /** Words for the operator, as the move goes. */
  out(text: string): void
  /** The session already open at from.address; the move closes it. Without it, one is opened. */
  session?: Session
  /** When to stop trying either address (default: deadlineMs plus a minute for the rollback). */
  giveUpMs?: number
  /** Pause between connection attempts (default 500 ms). */
  retryMs?: number
  /** Check from the host that the new gateway answers vmkping, where the host has vmkping (default true). */
  pingGateway?: boolean
}

/** The move did not end verified at the new address; the message says where the host is and why. */
export class MoveFailed extends Error {}

/**
 * The approved values cannot take the host where they say (a gateway outside the subnet vmk0
 * would be in): a Retry with them fails the same way, so only a new plan can help.
 */
export class MoveRefused extends MoveFailed {}

const MARK = 'midwife-mgmt:'

const TargetNetwork = z
  .object({
    address: ipv4,
    prefix: z.number().int().min(1).max(32),
    gateway: ipv4.nullable(),
    vlan: vlanId,
    dhcp: z.literal(false, { message: 'the management move sets a static address' }).optional(),
  })
  .superRefine((n, ctx) => {
    const cidr = ipv4Prefix.safeParse(`${n.address}/${n.prefix}`)
    if (!cidr.success) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: cidr.error.issues[0]?.message })
    } else if (n.gateway !== null) {
      const problem = gatewayProblem(n.gateway, cidr.data)
      if (problem) ctx.addIssue({ code: 'custom', path: ['gateway'], message: problem })
    }
  })

const cidrOf = (n: ManagementNetwork) => `${n.address}/${n.prefix}`

/**
 * Where a run moves the management network: the spec's management address, default gateway
 * and VLAN where it sets them, what the host has (`from`) where it does not.
 */
export function moveTarget(
  from: ManagementNetwork,
  values: Readonly<Record<string, unknown>>,
): ManagementNetwork {
  const cidr = values['mgmtAddress'] as string | undefined
  const gateway = values['defaultGateway'] as string | undefined
  const vlan = values['mgmtVlan'] as number | undefined
  return {
    address: cidr ? splitPrefix(cidr).address : from.address,
    prefix: cidr ? splitPrefix(cidr).prefix : from.prefix,
    gateway: gateway !== undefined ? gateway : from.gateway,
    vlan: vlan !== undefined ? vlan : from.vlan,
  }
}

/** Why no move can take the host to `to` (a gateway outside its subnet...), in words, or null. */
export function targetProblem(to: ManagementNetwork): string | null {
  const target = TargetNetwork.safeParse(to)
  return target.success ? null : target.error.issues.map((i) => i.message).join('; ')
}

export function describeNetwork(n: ManagementNetwork): string {
  return (
    `${cidrOf(n)}${n.dhcp ? ' (DHCP)' : ''}, ` +
    `${n.gateway ? `gateway ${n.gateway}` : 'no default gateway'}, VLAN ${n.vlan}`
  )
}

function sameNetwork(a: ManagementNetwork, b: ManagementNetwork): boolean {
  return (
    a.address === b.address &&
    a.prefix === b.prefix &&
    a.gateway === b.gateway &&
    a.vlan === b.vlan &&
    Boolean(a.dhcp) === Boolean(b.dhcp)
  )
}

/** The host's management network as it reports it. */
export async function readManagement(shell: Shell): Promise<ManagementNetwork> {
  const r = new CachedReader(shell, null)
  const vmk0 = await readVmk0(r)
  if (!vmk0) throw new MoveFailed('vmk0 has no IPv4 address')
  return {
    address: vmk0.address,
    prefix: vmk0.prefix,
    gateway: await readDefaultGateway(r),
    vlan: await readManagementVlan(r),
    dhcp: vmk0.dhcp,
  }
}

interface Step {
  what: string
  words: string[]
  /** May fail harmlessly (removing a route an address change already took away). */
  tolerant?: boolean
}

/** What the script changes, in order (address, then route, then VLAN), and how it undoes it. */
export function moveSteps(
  from: ManagementNetwork,
  to: ManagementNetwork,
): { apply: Step[]; undo: Step[] } {
  const moved = from.address !== to.address || from.prefix !== to.prefix || Boolean(from.dhcp)
  const rerouted = moved || from.gateway !== to.gateway
  const apply: Step[] = []
  const undo: Step[] = []
  if (moved) apply.push({ what: `vmk0 to ${cidrOf(to)}`, words: setVmk0Static(cidrOf(to)) })
  if (rerouted) {
    // After an address change the old route may be gone with its subnet, so it
    // is set again even when the gateway stays; esxcfg-route sets or replaces.
    const route = gatewayCommands(from.gateway, to.gateway)
    const words = route[0] ?? (to.gateway === null ? undefined : replaceDefaultRoute(to.gateway))
    if (words) {
      apply.push({
        what: to.gateway ? `default gateway ${to.gateway}` : 'no default gateway',
        words,
        tolerant: to.gateway === null,
      })
    }
  }
  if (from.vlan !== to.vlan) {
    apply.push({ what: `VLAN ${to.vlan}`, words: setManagementVlan(to.vlan) })
    undo.push({ what: `VLAN ${from.vlan}`, words: setManagementVlan(from.vlan) })
  }
  if (moved) {
    undo.push(
      from.dhcp
        ? {
            what: 'vmk0 back to DHCP',
            words: esxcli('network', 'ip', 'interface', 'ipv4', 'set', '-i', 'vmk0', '-t', 'dhcp'),
          }
        : { what: `vmk0 back to ${cidrOf(from)}`, words: setVmk0Static(cidrOf(from)) },
    )
  }
  if (rerouted) {
    if (from.gateway !== null && !from.dhcp) {
      undo.push({
        what: `default gateway back to ${from.gateway}`,
        words: replaceDefaultRoute(from.gateway),
      })
    } else if (to.gateway !== null) {
      // No manual route before (none, or the DHCP lease's): take ours away again.
      undo.push({
        what: `no manual default route`,
        words: gatewayCommands(to.gateway, null)[0] as string[],
        tolerant: true,
      })
    }
  }
  return { apply, undo }
}

/**
 * The script the host runs, detached. BusyBox ash with ESXi's applets only
 * (no cat, rm or touch; maybe no sleep, hence nap). It ignores SIGHUP, since
 * the session that starts it is about to die; it waits a second so that session hears its command ended;
 * each failing step, a gateway that does not answer, or no confirmation by
 * the deadline undoes every step and says why in its log. Its confirm file is
 * its own path plus `.confirm`.
 */
export function moveScript(
  from: ManagementNetwork,
  to: ManagementNetwork,
  o: { confirmSeconds: number; pingGateway: boolean },
): string {
  const q = shellQuote
  const { apply, undo } = moveSteps(from, to)
  // A step's output is kept for the log: it is the host's own reason.
  const run = (s: Step, onFail: (what: string) => string) =>
    s.tolerant
      ? `${commandLine(s.words)} >/dev/null 2>&1`
      : `out=$(${commandLine(s.words)} 2>&1) || ${onFail(s.what)}`
  const lines = [
    `trap '' HUP`,
    `say() { echo "${MARK} $*"; }`,
    HOST_FUNCTIONS,
    `say started`,
    `nap 1`,
    `confirm="$0.confirm"`,
    `rollback() {`,
    `  say "rolling back: $1"`,
    `  ok=1`,
    ...undo.map(
      (s) => `  ${run(s, (what) => `{ ok=0; say ${q(`could not restore ${what}: `)}"$out"; }`)}`,
    ),
    `  if [ "$ok" = 1 ]; then say "rolled back"; else say "rollback failed"; fi`,
    `  exit 1`,
    `}`,
    `say ${q(`applying: ${apply.map((s) => s.what).join(', ')}`)}`,
    ...apply.map((s) => run(s, (what) => `rollback ${q(`setting ${what} failed: `)}"$out"`)),
  ]
  if (o.pingGateway && to.gateway !== null) {
    const gw = q(to.gateway)
    lines.push(
      `if command -v vmkping >/dev/null 2>&1; then`,
      `  tries=0`,
      `  until vmkping -I vmk0 -c 3 -W 1 ${gw} >/dev/null 2>&1; do`,
      `    tries=$((tries + 1))`,
      `    if [ "$tries" -ge 3 ]; then rollback ${q(`gateway ${to.gateway} does not answer (vmkping from vmk0)`)}; fi`,
      `    nap 1`,
      `  done`,
      `else`,
      `  say "no vmkping on this host: the gateway is not checked"`,
      `fi`,
    )
  }
  const n = o.confirmSeconds
  lines.push(
    `say "waiting for confirmation (${n} s)"`,
    `i=0`,
    `while [ "$i" -lt ${n} ]; do`,
    `  if [ -s "$confirm" ]; then say confirmed; exit 0; fi`,
    `  nap 1`,
    `  i=$((i + 1))`,
    `done`,
    `rollback "no confirmation within ${n} s"`,
  )
  return `${lines.join('\n')}\n`
}

type Phase =
  | 'none'
  | 'started'
  | 'applying'
  | 'waiting'
  | 'confirmed'
  | 'rolling back'
  | 'rolled back'
  | 'rollback failed'

/** Where the script is, from its log: the last phase it announced, and why it rolled back. */
export function scriptPhase(log: string): { phase: Phase; reason: string | null; log: string } {
  let phase: Phase = 'none'
  let reason: string | null = null
  const lines = log.split('\n')
  lines.forEach((line, i) => {
    if (!line.startsWith(MARK)) return
    const said = line.slice(MARK.length).trim()
    if (said === 'started') phase = 'started'
    else if (said.startsWith('applying')) phase = 'applying'
    else if (said.startsWith('waiting for confirmation')) phase = 'waiting'
    else if (said === 'confirmed') phase = 'confirmed'
    else if (said === 'rolled back') phase = 'rolled back'
    else if (said === 'rollback failed') phase = 'rollback failed'
    else if (said.startsWith('rolling back:')) {
      phase = 'rolling back'
      // A command's message may run over several lines; they belong to the reason.
      const more = lines.slice(i + 1).findIndex((l) => l.startsWith(MARK))
      const rest = lines.slice(i + 1, more === -1 ? undefined : i + 1 + more)
      reason = [said.slice('rolling back:'.length), ...rest]
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .join(' ')
        .slice(0, 400)
    }
  })
  return { phase, reason, log }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Runs a command; null when the session is gone (no exit code, or no session at all). */
async function tryExec(s: Session, line: string) {
  try {
    const r = await s.exec(line)
    return r.code === null ? null : r
  } catch {
    return null
  }
}

async function readLog(s: Session, log: string) {
  const r = await tryExec(s, `sed -n p ${shellQuote(log)}`)
  // No log yet reads as an empty one.
  return r === null ? null : scriptPhase(r.code === 0 ? r.stdout : '')
}

/**
 * Moves the host's management network from `from` to `to` and returns a
 * session at the new address, verified. The script is uploaded and started
 * detached over the current session, which then closes; Midwife tries the new
 * address (and the old one, where a rolled-back host answers again) until the
 * host answers with its pinned key, confirms from the new address, waits for
 * the script to take the confirmation, and reads the network back. A rollback
 * fails the move with the script's reason. Every session it opened, and the
 * one it was given, is closed when it throws.
 */
export async function moveManagement(o: MoveOptions): Promise<Session> {
  const problems = targetProblem(o.to)
  if (problems) {
    throw new MoveRefused(
      `the new management network is not valid: ${problems}; set the management address or the default gateway on the Hosts step (or the site profile), then approve the host again`,
    )
  }
  const { from, to } = o
  const retryMs = o.retryMs ?? 500
  const session = o.session ?? (await o.connect(from.address))
  let launched: { script: string; log: string; at: number }
  try {
    const now = await readManagement(session)
    if (!sameNetwork(now, from)) {
      throw new MoveFailed(
        `the host's management network is ${describeNetwork(now)}, not ${describeNetwork(from)} as planned; plan again`,
      )
    }
    if (sameNetwork(from, to)) {
      o.out(`already ${describeNetwork(to)}; nothing to move\n`)
      return session
    }
    o.out(`moving the management network from ${describeNetwork(from)} to ${describeNetwork(to)}\n`)
    const confirmSeconds = Math.max(1, Math.ceil(o.deadlineMs / 1000))
    const body = moveScript(from, to, { confirmSeconds, pingGateway: o.pingGateway ?? true })
    const upload = `f=$(mktemp /tmp/midwife-mgmt.XXXXXX) && sed -n p > "$f" <<'MIDWIFE_EOF' && echo "$f"\n${body}MIDWIFE_EOF`
    const up = await session.exec(upload)
    // The last line shaped like the path: a host may print a notice on stdout before it.
    const script = up.stdout
      .split('\n')
      .map((l) => l.trim())
      .findLast((l) => /^\/tmp\/midwife-mgmt\.[A-Za-z0-9]+$/.test(l))
    if (up.code !== 0 || script === undefined) {
      throw new MoveFailed(`uploading the script failed: ${failureOf('mktemp + sed', up).message}`)
    }
    const log = `${script}.log`
    // The trap here too: the script inherits the ignored hangup from its very
    // first instruction, before its own trap has run, and this session may end first.
    const start = `trap '' HUP; sh ${shellQuote(script)} > ${shellQuote(log)} 2>&1 < /dev/null &`
    const started = await session.exec(start)
    if (started.code !== 0) throw failureOf(start, started)
    launched = { script, log, at: Date.now() }
    o.out(
      `started ${script} on the host (log ${log}); it rolls back unless confirmed within ${confirmSeconds} s\n`,
    )
  } catch (err) {
    session.close()
    throw err instanceof MoveFailed ? err : new MoveFailed(messageOf(err))
  }
  // Whatever is left of the old session goes: with the address gone it may hang rather than end.
  session.close()
  o.out(`waiting for the host to answer at ${to.address}\n`)

  const giveUpAt = launched.at + (o.giveUpMs ?? o.deadlineMs + 60_000)
  const addresses = from.address === to.address ? [to.address] : [to.address, from.address]
  const lastError = new Map<string, string>()
  // The old address still answers until the script's first second is up; a
  // login there then is dropped, or left hanging, by the change itself.
  const oldAnswersFrom = launched.at + 2_000
  while (Date.now() < giveUpAt) {
    for (const address of addresses) {
      if (address !== to.address && Date.now() < oldAnswersFrom) continue
      let s: Session
      try {
        s = await o.connect(address)
      } catch (err) {
        lastError.set(address, messageOf(err))
        continue
      }
      const outcome = await visit(s, address)
      if (outcome === 'again') {
        s.close()
        continue
      }
      if (outcome instanceof MoveFailed) {
        s.close()
        throw outcome
      }
      return s
    }
    await sleep(retryMs)
  }
  const tried = addresses.map((a) => `${a}: ${lastError.get(a) ?? 'answered, move undecided'}`)
  throw new MoveFailed(
    `the host did not come back within ${Math.round((giveUpAt - launched.at) / 1000)} s ` +
      `(${tried.join('; ')}); ${launched.log} on the host tells what it did (from its console if need be)`,
  )

  /** One session at one address: confirm and verify, fail with the rollback's reason, or try again. */
  async function visit(s: Session, address: string): Promise<Session | MoveFailed | 'again'> {
    /** Reads the log again every 250 ms while it says one of `phases`; null once the session is gone. */
    const watch = async (state: ReturnType<typeof scriptPhase>, phases: Phase[]) => {
      while (phases.includes(state.phase) && Date.now() < giveUpAt) {
        await sleep(250)
        const next = await readLog(s, launched.log)
        if (next === null) return null
        state = next
      }
      return state
    }
    const first = await readLog(s, launched.log)
    if (first === null) return 'again'
    // At the new address the script may still be applying or checking the
    // gateway: watch it from this session rather than logging in again.
    let state = address === to.address ? await watch(first, ['none', 'started', 'applying']) : first
    if (state === null) return 'again'
    if (state.phase === 'rolled back' || state.phase === 'rollback failed') {
      const where =
        state.phase === 'rolled back'
          ? `rolled back to ${describeNetwork(from)}`
          : 'rollback failed'
      const seen = lastError.get(to.address)
      const because = state.reason ?? 'no reason logged'
      return new MoveFailed(
        `the management network change was ${where}: ${because}` +
          (state.phase === 'rollback failed' ? ` (log: ${state.log.trim().slice(-1000)})` : '') +
          (seen && address !== to.address ? `; at ${to.address}: ${seen}` : ''),
      )
    }
    if (address !== to.address || (state.phase !== 'waiting' && state.phase !== 'confirmed')) {
      return 'again'
    }
    if (state.phase === 'waiting') {
      o.out(`reconnected at ${to.address}; confirming\n`)
      const confirm = `printf ok > ${shellQuote(`${launched.script}.confirm`)}`
      if ((await tryExec(s, confirm))?.code !== 0) return 'again'
      // The script looks once a second; its word that it took the confirmation
      // is what counts, as it may have given up just before.
      state = await watch(state, ['waiting'])
      if (state?.phase !== 'confirmed') return 'again'
    }
    const after = await readManagement(s).catch((err: unknown) => new MoveFailed(messageOf(err)))
    if (after instanceof MoveFailed) return after
    if (!sameNetwork(after, to)) {
      return new MoveFailed(
        `confirmed at ${to.address}, but the host reads back ${describeNetwork(after)}, not ${describeNetwork(to)}`,
      )
    }
    o.out(`verified: ${describeNetwork(after)}\n`)
    return s
  }
}
