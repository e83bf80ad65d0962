// The hosts CSV: identity columns, then every column the settings catalogue
// defines, in catalogue order. Read with csv-parse, written with
// csv-stringify; this file turns cells into batch candidates (and hosts into
// cells), saying where each problem is in words.
//
// Format decisions: UTF-8 (a byte-order mark is accepted), comma-separated,
// LF line ends; lines starting with # are comments (also when a spreadsheet
// saved them quoted); a cell the export starts with ' before =, +, -, @, a tab
// or a CR (so a spreadsheet shows it as text, never runs it as a formula) is
// read without that ' (except root_password, never exported, taken as typed);
// blank rows are skipped; column names are matched without regard to case; an empty cell means "not set" (the site profile's value, or
// the default for ssh_user and ssh_port), and a column the file leaves out
// leaves an existing host's value as it is.
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { csvColumns, SPEC_SETTINGS } from '../../catalogue/registry'
import type { AnySetting } from '../../catalogue/types'
import { domainName, hostLabel, PASSWORD_RULES, passwordProblem } from '../../catalogue/values'
import {
  ESXI_VERSIONS,
  EsxiVersion,
  Mac,
  NicMac,
  SerialNumber,
  SshUser,
  type BatchProblem,
} from '../../contract/schemas'
import type { DefinitionFields, StoredSpec } from '../store'
import { problem, type Candidate } from './batch'

export const IDENTITY_COLUMNS = [
  'hostname',
  'domain',
  'mac',
  'serial',
  'ssh_user',
  'ssh_port',
  'esxi_version',
  'secure_boot',
  'root_password',
] as const
const REQUIRED = ['hostname', 'domain', 'mac']

/** Every column, in the order a template and an export write them. */
export function hostColumns(): string[] {
  return [...IDENTITY_COLUMNS, ...csvColumns()]
}

/** What each identity column takes, for the template. */
const IDENTITY_HELP: Record<(typeof IDENTITY_COLUMNS)[number], string> = {
  hostname: 'the host name without its domain; like esx01 (required)',
  domain: 'its DNS domain; like lab.local (required)',
  mac: 'the MAC address it boots from; like 00:50:56:aa:bb:01 (required)',
  serial: 'its serial number when known: it helps recognise the server when it checks in',
  ssh_user: 'the user Midwife logs in as (root when empty)',
  ssh_port: 'the SSH port (22 when empty)',
  esxi_version: `the ESXi version it is installed with: ${ESXI_VERSIONS.join(', ')} (the site's default when empty)`,
  secure_boot:
    "yes when its firmware has UEFI Secure Boot on, no when not (the site's expectation when empty)",
  root_password: `the root password it is installed with, by ESXi's default rules: ${PASSWORD_RULES}; never exported (an export leaves it empty) and an empty cell keeps an existing host’s`,
}

/** Spreadsheet column letters: 0 -> A, 26 -> AA. */
export function columnLetter(index: number): string {
  let n = index + 1
  let out = ''
  while (n > 0) {
    const r = (n - 1) % 26
    out = String.fromCharCode(65 + r) + out
    n = Math.floor((n - 1) / 26)
  }
  return out
}

/**
 * A cell a spreadsheet would take for a formula (=, +, -, @, or a tab or CR before one), with
 * any quotes the export put in front of it.
 */
const FORMULA_CELL = /^'*[=+\-@\t\r]/

/**
 * A cell as the export writes it: one a spreadsheet would run as a formula gets a ' in front
 * (the usual neutralisation, which spreadsheets show as text); `cellValue` takes it off again.
 */
export function safeCell(cell: string): string {
  return FORMULA_CELL.test(cell) ? `'${cell}` : cell
}

/** A cell as the export meant it: the ' that `safeCell` put before a formula taken off. */
export function cellValue(cell: string): string {
  return cell.startsWith("'") && FORMULA_CELL.test(cell) ? cell.slice(1) : cell
}

/** The CSV file: `# ` comment lines, then the rows, every cell safe to open in a spreadsheet. */
export function writeCsv(comments: string[], rows: string[][]): string {
  const body = stringify(
    rows.map((row) => row.map(safeCell)),
    { record_delimiter: '\n' },
  )
  return `${comments.map((c) => `# ${c}\n`).join('')}${body}`
}

export function templateCsv(): string {
  const help = [
    'Midwife hosts. One row per host; lines starting with # are comments.',
    ...IDENTITY_COLUMNS.map((c) => `${c}: ${IDENTITY_HELP[c]}`),
    ...SPEC_SETTINGS.flatMap((s) => settingHelp(s)),
    'An empty cell in a setting column means the site profile’s value.',
  ]
  return writeCsv(help, [hostColumns()])
}

function settingHelp(s: AnySetting): string[] {
  const csv = s.csv
  if (!csv) return []
  const example = csv.toCsv(s.example)
  return csv.columns.map(
    (c) =>
      `${c}: ${s.title}. ${s.description}${s.secret ? ' Never exported.' : ''} Like: ${example[c] ?? ''}`,
  )
}

interface Located {
  line: number
  cells: string[]
}

/**
 * The file's records with the line each starts on, and the syntax problem
 * that stopped the reading, if one did (the records before it are kept).
 */
function readRecords(text: string): { records: Located[]; problem: BatchProblem | null } {
  const lines = text.split(/\r\n|\n|\r/)
  const records: Located[] = []
  let lastEnd = 0
  // The first line after `end` that holds more than a comment or nothing.
  const startAfter = (end: number) => {
    let n = end + 1
    while (n <= lines.length && /^\s*(#.*)?$/.test(lines[n - 1] ?? '')) n++
    return n
  }
  try {
    parse(text, {
      bom: true,
      comment: '#',
      comment_no_infix: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      on_record: (record: string[], context) => {
        records.push({ line: startAfter(lastEnd), cells: record })
        lastEnd = context.lines
        return null
      },
    })
    return { records, problem: null }
  } catch (err) {
    // With relax_quotes, a quote inside a cell is taken as typed (its cell's check says
    // if the value is wrong); only a quote that opens a cell and never closes is fatal.
    const e = err as Error & { code?: string; lines?: number }
    const line = e.code === 'CSV_QUOTE_NOT_CLOSED' ? startAfter(lastEnd) : (e.lines ?? lastEnd + 1)
    const message =
      e.code === 'CSV_QUOTE_NOT_CLOSED'
        ? `Line ${line}: a quote (") opens a cell on this line and is never closed, so the rest of the file would be that one cell; close it, or write a quote inside a cell as ""`
        : `Line ${line}: this line cannot be read as CSV (${e.message})`
    return {
      records,
      problem: { line, row: null, column: null, kind: 'syntax', message },
    }
  }
}

/** Edit distance, to suggest the column an unknown one was probably meant to be. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur.push(
        Math.min(
          (prev[j] ?? 0) + 1,
          (cur[j - 1] ?? 0) + 1,
          (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
        ),
      )
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}

export interface CsvRead {
  /** Column names as the header gives them (lower case), by position; '' for an unnamed one. */
  header: string[]
  candidates: Candidate[]
  /** Problems with the file itself: syntax, the header. Row problems are on each candidate. */
  problems: BatchProblem[]
  /** Known columns the file leaves out. */
  missing: string[]
}

/** Reads a hosts CSV into candidates, each with the problems of its cells. */
export function readHostsCsv(text: string): CsvRead {
  const { records, problem: syntax } = readRecords(text)
  const problems: BatchProblem[] = syntax ? [syntax] : []
  // A comment a spreadsheet saved quoted (its commas made it quote the cell).
  const rows = records.filter(
    (r) => !(r.cells[0] ?? '').trimStart().startsWith('#') && r.cells.some((c) => c.trim() !== ''),
  )
  const head = rows.shift()
  if (!head) {
    if (!syntax) {
      problems.push({
        line: null,
        row: null,
        column: null,
        kind: 'header',
        message: `the file has no header row; its first row names the columns: ${hostColumns().join(',')}`,
      })
    }
    return { header: [], candidates: [], problems, missing: [] }
  }
  const known = hostColumns()
  const header = head.cells.map((c) => c.trim().toLowerCase())
  const headerProblem = (index: number | null, message: string) =>
    problems.push({
      line: head.line,
      row: null,
      column: index === null ? null : (header[index] ?? null),
      kind: 'header',
      message:
        index === null
          ? `Line ${head.line}: ${message}`
          : `Line ${head.line}, column ${columnLetter(index)} (${head.cells[index]?.trim() ?? ''}): ${message}`,
    })
  if (header.length === 1 && /[;\t]/.test(head.cells[0] ?? '')) {
    headerProblem(
      null,
      'the cells are separated by semicolons or tabs; Midwife reads comma-separated files (in a spreadsheet: save as "CSV UTF-8 (comma delimited)")',
    )
    return { header, candidates: [], problems, missing: [] }
  }
  // Columns Midwife does not read (unknown, or named twice): said, and their cells left out, so
  // the rows are still checked and every problem is said in one round.
  const ignored = new Set<number>()
  header.forEach((name, i) => {
    if (name === '') return
    if (!known.includes(name) || header.indexOf(name) !== i) ignored.add(i)
    if (!known.includes(name)) {
      const near = known.map((k) => ({ k, d: distance(name, k) })).sort((a, b) => a.d - b.d)[0]
      headerProblem(
        i,
        `Midwife has no column "${name}"` +
          (near && near.d <= 3
            ? `; did you mean ${near.k}?`
            : `; the columns are ${known.join(', ')}`),
      )
    } else if (header.indexOf(name) !== i) {
      headerProblem(
        i,
        `${name} is also column ${columnLetter(header.indexOf(name))}; name each column once`,
      )
    }
  })
  for (const name of REQUIRED) {
    if (!header.includes(name))
      headerProblem(
        null,
        `the column "${name}" is missing: every host needs hostname, domain and mac`,
      )
  }
  const missing = known.filter((k) => !header.includes(k))
  // Without a host's name or MAC no row can be matched or told apart: the header first.
  if (REQUIRED.some((name) => !header.includes(name)))
    return { header, candidates: [], problems, missing }

  const candidates = rows.map((r, i) => decodeRow(header, ignored, r, i + 1))
  if (candidates.length === 0 && !syntax) {
    headerProblem(null, 'the file has a header but no host rows')
  }
  return { header, candidates, problems, missing }
}

function decodeRow(
  header: string[],
  ignored: ReadonlySet<number>,
  r: Located,
  row: number,
): Candidate {
  const where = (field: string | null) => {
    if (field === null) return `Line ${r.line}`
    // A setting with several columns is named by those the file has, at the first of them.
    const present = field.split(', ').filter((name) => header.includes(name))
    const first = present[0]
    return first === undefined
      ? `Line ${r.line} (${field})`
      : `Line ${r.line}, column ${columnLetter(header.indexOf(first))} (${present.join(', ')})`
  }
  const c: Candidate = {
    row,
    line: r.line,
    where,
    hostname: '',
    domain: '',
    mac: '',
    serial: undefined,
    sshUser: undefined,
    sshPort: undefined,
    esxiVersion: undefined,
    secureBoot: undefined,
    password: undefined,
    values: {},
    decides: new Set(),
    sealed: {},
    mayUpdate: true,
    problems: [],
    audit: { source: 'csv', line: r.line },
  }
  const cells = new Map<string, string>()
  r.cells.forEach((cell, i) => {
    const name = header[i]
    if (ignored.has(i)) return
    // A root password is never exported, so it is taken as typed, quote and all.
    if (name) cells.set(name, name === 'root_password' ? cell : cellValue(cell))
    else if (cell.trim() !== '') {
      c.problems.push({
        line: r.line,
        row,
        column: null,
        kind: 'value',
        message:
          name === ''
            ? `Line ${r.line}, column ${columnLetter(i)}: this cell has a value, but its column has no name in the header`
            : `Line ${r.line}, column ${columnLetter(i)}: this row has more cells than the header has columns (${header.length})`,
      })
    }
  })
  const cell = (name: string) => cells.get(name)?.trim() ?? ''
  const has = (name: string) => cells.has(name)
  const fail = (field: string, kind: BatchProblem['kind'], message: string) =>
    c.problems.push(problem(c, field, kind, message))

  // A row that does not line up with the header (a missing comma, an unquoted
  // comma inside a value) has its values under the wrong columns: said once
  // for the row, and no cell of it is read, so a piece of a root password is
  // never quoted back as some other column's bad value.
  const filled = r.cells.reduce((n, v, i) => (v.trim() !== '' ? i + 1 : n), 0)
  if (filled > header.length || r.cells.length < header.length) {
    if (r.cells.length < header.length) {
      const absent = header.slice(r.cells.length).filter(Boolean)
      c.problems.push({
        line: r.line,
        row,
        column: null,
        kind: 'value',
        message: `Line ${r.line}: this row has ${r.cells.length} cells, the header has ${header.length} columns (${absent.join(', ')} ${absent.length === 1 ? 'has' : 'have'} no cell): add the missing commas, or quote a value that holds a comma`,
      })
    }
    const named = (name: 'hostname' | 'domain', schema: typeof hostLabel) => {
      const parsed = schema.safeParse(cell(name))
      if (parsed.success) c[name] = parsed.data
    }
    named('hostname', hostLabel)
    named('domain', domainName)
    c.unread = true
    return c
  }

  for (const [name, schema] of [
    ['hostname', hostLabel],
    ['domain', domainName],
  ] as const) {
    const v = cell(name)
    if (v === '') fail(name, 'required', `every host needs a ${name}`)
    else {
      const parsed = schema.safeParse(v)
      if (parsed.success) c[name] = parsed.data
      else fail(name, 'value', parsed.error.issues[0]?.message ?? 'not valid')
    }
  }
  const mac = cell('mac')
  if (mac === '') fail('mac', 'required', 'every host needs the MAC address it boots from')
  else {
    const parsed = Mac.safeParse(mac)
    const nic = parsed.success ? NicMac.safeParse(mac) : parsed
    if (nic.success) c.mac = nic.data
    else if (parsed.success) fail('mac', 'value', `${mac} ${nic.error.issues[0]?.message ?? ''}`)
    else fail('mac', 'value', `${mac} is not a MAC address like 00:50:56:aa:bb:01`)
  }
  if (has('serial')) {
    const serial = SerialNumber.safeParse(cell('serial'))
    if (!serial.success) fail('serial', 'value', serial.error.issues[0]?.message ?? 'not valid')
    else c.serial = serial.data === '' ? null : serial.data
  }
  if (has('ssh_user')) {
    const user = cell('ssh_user')
    const parsed = SshUser.safeParse(user)
    if (user === '') c.sshUser = 'root'
    else if (parsed.success) c.sshUser = parsed.data
    else fail('ssh_user', 'value', parsed.error.issues[0]?.message ?? 'not valid')
  }
  if (has('ssh_port')) {
    const port = cell('ssh_port')
    const n = Number(port)
    if (port === '') c.sshPort = 22
    else if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65535)
      fail('ssh_port', 'value', `${port} is not a port: a whole number from 1 to 65535`)
    else c.sshPort = n
  }
  if (has('esxi_version')) {
    const v = cell('esxi_version')
    const parsed = EsxiVersion.safeParse(v)
    if (v === '') c.esxiVersion = null
    else if (parsed.success) c.esxiVersion = parsed.data
    else
      fail(
        'esxi_version',
        'value',
        `${v} is not an ESXi version Midwife installs: ${ESXI_VERSIONS.join(', ')}`,
      )
  }
  if (has('secure_boot')) {
    const v = cell('secure_boot').toLowerCase()
    if (v === '') c.secureBoot = null
    else if (['yes', 'true', 'on', '1'].includes(v)) c.secureBoot = true
    else if (['no', 'false', 'off', '0'].includes(v)) c.secureBoot = false
    else fail('secure_boot', 'value', `${cell('secure_boot')} is not yes or no`)
  }
  // Taken as typed (spaces are characters of a password); never quoted back in a message. It
  // must pass ESXi's default rules, as the host form's does (the installer may not check them).
  const password = cells.get('root_password') ?? ''
  const weak = password === '' ? null : passwordProblem(password)
  if (weak) fail('root_password', 'value', weak)
  else if (password !== '') c.password = { plain: password }

  const decides = new Set<string>()
  for (const s of SPEC_SETTINGS) {
    const csv = s.csv
    if (!csv || !csv.columns.some(has)) continue
    // A secret cell left empty keeps the stored secret (an export leaves it empty).
    if (!s.secret) decides.add(s.key)
    const field = csv.columns.join(', ')
    let value: unknown
    try {
      value = csv.fromCsv(Object.fromEntries(csv.columns.map((col) => [col, cell(col)])))
    } catch (err) {
      fail(field, 'value', (err as Error).message)
      continue
    }
    if (value === undefined) continue
    const parsed = s.value.safeParse(value)
    if (parsed.success) c.values[s.key] = parsed.data
    else {
      for (const issue of parsed.error.issues) fail(field, 'value', issue.message)
    }
  }
  c.decides = decides
  return c
}

/** The cells of one host: its identity, then each setting's columns; secrets left empty. */
export function hostCells(d: Omit<DefinitionFields, 'spec'>, spec: StoredSpec): string[] {
  const secureBoot = d.secureBoot === true ? 'yes' : d.secureBoot === false ? 'no' : ''
  const cells = [
    d.hostname,
    d.domain,
    d.mac,
    d.serial ?? '',
    d.sshUser,
    String(d.sshPort),
    d.esxiVersion ?? '',
    secureBoot,
    '',
  ]
  for (const s of SPEC_SETTINGS) {
    const csv = s.csv
    if (!csv) continue
    const v = spec[s.key]
    const out = v === undefined || s.secret ? {} : csv.toCsv(v)
    for (const col of csv.columns) cells.push(out[col] ?? '')
  }
  return cells
}
