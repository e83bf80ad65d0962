// The per-host report an operator attaches to a change ticket: the host, what
// it is configured to, who approved what, every run with its plan, every
// command and what was verified, and the audit trail with the chain's state.
// The HTML is one self-contained file: inline CSS, no script, no remote
// resource (its CSP says so too), and every value escaped.
import type { HostState } from '../../contract/lifecycle'
import type {
  AuditEntry,
  AuditVerification,
  BoundIdentity,
  PlanItem,
  Run,
} from '../../contract/schemas'
import type { DefinitionFields } from '../store'

export interface HostReport {
  report: 'Midwife host report'
  generatedAt: string
  midwifeVersion: string
  host: {
    id: number
    name: string
    state: HostState
    stateReason: string | null
    stateChangedAt: string
    definition: Omit<DefinitionFields, 'spec'> | null
    identity: BoundIdentity | null
  }
  /** The spec it is configured to; a secret shows as "(set)". */
  configuration: Array<{ key: string; title: string; source: string; shown: string }>
  approvals: Array<{
    at: string
    by: string
    runId: number
    planId: string | null
    auditEntry: number
  }>
  runs: Array<
    Run & {
      approvedBy: string | null
      approvedAt: string | null
      planId: string | null
      durationSeconds: number | null
    }
  >
  audit: { chain: AuditVerification; entries: AuditEntry[] }
  /** Secrets found in stored text and masked here (0 unless something upstream failed to redact). */
  secretsMasked: number
  /** Secrets this Midwife could not open to check for (sealed by another keychain). */
  secretsUnchecked: number
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(value: string | number | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** Markup made by a function of this file, which escaped every value in it. */
interface Html {
  html: string
}

type Cell = string | number | null | undefined | Html

const cellHtml = (c: Cell): string => (typeof c === 'object' && c !== null ? c.html : escapeHtml(c))

/** A table whose cells are escaped here, or were by the function that made their markup. */
function table(head: string[], rows: Cell[][], opts: { cls?: string; cols?: string[] } = {}) {
  if (rows.length === 0) return '<p class="none">None.</p>'
  const at = (i: number) => (opts.cols?.[i] ? ` class="${opts.cols[i]}"` : '')
  const th = head.map((h, i) => `<th${at(i)}>${escapeHtml(h)}</th>`).join('')
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${at(i)}>${cellHtml(c)}</td>`).join('')}</tr>`)
    .join('\n')
  const cls = opts.cls ? ` class="${opts.cls}"` : ''
  return `<table${cls}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

function facts(pairs: Array<[string, Cell]>): string {
  const rows = pairs
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${cellHtml(v)}</td></tr>`)
    .join('\n')
  return `<table class="facts"><tbody>\n${rows}\n</tbody></table>`
}

const pre = (text: string) => `<pre>${escapeHtml(text)}</pre>`

/**
 * A command as run, that wraps only between its words: a reader of the ticket
 * sees each argument whole (never `--` at the end of a line and `host=esx01` on
 * the next), and a copied line is the command.
 */
const command = (line: string): string =>
  `<code class="cmd">${line
    .split(' ')
    .map((w) => (w === '' ? '' : `<span>${escapeHtml(w)}</span>`))
    .join(' ')}</code>`

function planTable(items: PlanItem[]): string {
  return table(
    ['Setting', 'Source', 'Status', 'Current', 'Wanted', 'Changes and commands', 'Note'],
    items.map((i) => [
      i.title,
      i.source,
      i.status,
      i.current,
      i.wanted,
      {
        html: i.changes
          .flatMap((c) => [escapeHtml(c.summary), ...c.commands.map((x) => command(`$ ${x}`))])
          .join('\n'),
      },
      i.note ?? '',
    ]),
    { cls: 'plan', cols: ['', 'word', 'word', '', '', 'changes'] },
  )
}

function runSection(run: HostReport['runs'][number]): string {
  const steps = run.steps
    .map(
      (s) =>
        `<h4>${escapeHtml(`${s.seq}. ${s.title}`)} <span class="state ${escapeHtml(s.state)}">${escapeHtml(s.state)}</span></h4>\n` +
        facts([
          ['Started', s.startedAt ?? '-'],
          ['Finished', s.finishedAt ?? '-'],
          ...(s.error ? ([['Error', s.error]] as Array<[string, Cell]>) : []),
        ]) +
        (s.output ? pre(s.output) : '<p class="none">No output.</p>'),
    )
    .join('\n')
  return `<section class="run">
<h3>Run ${escapeHtml(run.id)} <span class="state ${escapeHtml(run.state)}">${escapeHtml(run.state)}</span></h3>
${facts([
  ['Approved by', run.approvedBy ?? 'not recorded'],
  ['Approved at', run.approvedAt ?? '-'],
  ['Plan', run.planId ?? '-'],
  ['Target', run.target],
  ['Created', run.createdAt],
  ['Started', run.startedAt ?? '-'],
  ['Finished', run.finishedAt ?? '-'],
  ['Duration', run.durationSeconds === null ? '-' : `${run.durationSeconds.toFixed(1)} s`],
  ['Error', run.error ?? '-'],
])}
<h4>The plan as approved</h4>
${planTable(run.plan)}
<h4>Steps: every command and what was verified</h4>
${steps}
</section>`
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b;background:#fff}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}h3{margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap;word-break:break-word}
thead th,.facts th{background:#f2f2f2}.facts th{width:12rem}
pre{background:#f6f6f6;border:1px solid #ddd;padding:.5rem;white-space:pre-wrap;word-break:break-all}
.plan th,.plan td{word-break:normal;overflow-wrap:break-word}.plan .word{white-space:nowrap}.plan .changes{width:40%}
.cmd{font:.85rem/1.45 ui-monospace,monospace}.cmd span{white-space:nowrap}
.state{font-size:.8rem;padding:.1rem .4rem;border-radius:.3rem;background:#eee}
.done,.ok{background:#d8f0d8}.failed,.broken{background:#f6d5d5}.none{color:#555}
@media print{body{margin:0}}
`

export function renderReportHtml(r: HostReport): string {
  const d = r.host.definition
  const id = r.host.identity
  const chain = r.audit.chain
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(`Midwife report: ${r.host.name}`)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(`Midwife host report: ${r.host.name}`)}</h1>
${facts([
  ['Generated', r.generatedAt],
  ['Midwife', r.midwifeVersion],
  ['Audit chain', chain.message],
  ['Secrets', `masked; ${r.secretsMasked} found in stored text and masked here`],
  ...(r.secretsUnchecked
    ? ([['Unchecked secrets', `${r.secretsUnchecked} could not be opened to check for`]] as Array<
        [string, Cell]
      >)
    : []),
])}
<h2>Host</h2>
${facts([
  ['Name', r.host.name],
  ['State', `${r.host.state}: ${r.host.stateReason ?? ''}`],
  ['Since', r.host.stateChangedAt],
  ['MAC (defined)', d?.mac ?? '-'],
  ['Serial (defined)', d?.serial ?? '-'],
  [
    'SSH',
    d ? `${d.sshUser}@${id?.managementIp ?? '(address from its check-in)'}:${d.sshPort}` : '-',
  ],
  ['Management address (bound)', id?.managementIp ?? '-'],
  ['MACs (reported)', id?.macs.join(', ') ?? '-'],
  ['Serial (reported)', id?.serial ?? '-'],
  ['UUID (reported)', id?.uuid ?? '-'],
  [
    'SSH host keys (bound)',
    id?.sshHostKeys.map((k) => `${k.type} ${k.fingerprint}`).join('\n') ?? '-',
  ],
  ['Identity bound', id ? `${id.boundAt} (${id.how})` : '-'],
])}
<h2>Configuration</h2>
${table(
  ['Setting', 'Value', 'From'],
  r.configuration.map((c) => [c.title, c.shown, c.source]),
)}
<h2>Approvals</h2>
${table(
  ['When', 'Who', 'Run', 'Plan', 'Audit entry'],
  r.approvals.map((a) => [a.at, a.by, a.runId, a.planId ?? '-', a.auditEntry]),
)}
<h2>Runs</h2>
${r.runs.length ? r.runs.map(runSection).join('\n') : '<p class="none">No run yet.</p>'}
<h2>Audit trail</h2>
${table(
  ['Entry', 'When', 'Event', 'What happened', 'Hash'],
  r.audit.entries.map((e) => [e.id, e.at, e.type, e.summary, e.hash]),
)}
</body>
</html>
`
}
