// Parsers for what esxcli, vim-cmd and vsish print. Used both on the raw
// outputs a check-in carries and on what a configuration step reads back, so
// the host and Midwife never disagree about a format.

export type Row = Record<string, string>

/**
 * An esxcli table: its column names, its rows as printed, and a reader for one
 * cell of a row ('' for a column the table does not have). Cells are cut only
 * when read: the check-in path reads a few columns of each row.
 */
export interface Table {
  names: string[]
  rows: string[]
  cell: (row: string, name: string) => string
}

/**
 * Reads an esxcli table. Column spans come from the dashed line of this very
 * output (widths follow the longest value, so they differ from host to host);
 * a cell may be empty and a value may contain single spaces. A row that does
 * not sit on those spans (a value wider than its dashes) is read by its runs
 * of two or more spaces instead, when that gives one value per column.
 */
export function readTable(text: string): Table {
  const lines = splitLines(text)
  // The dashed line starts with a dash (45): only such lines are tried.
  const dashIdx = lines.findIndex((l) => l.charCodeAt(0) === 45 && DASHED.test(l))
  if (dashIdx < 1) return { names: [], rows: [], cell: () => '' }
  const header = lines[dashIdx - 1] as string
  const dashes = lines[dashIdx] as string
  // Each column runs from its dashes to the next column's (the last to the line's end).
  const starts: number[] = []
  for (let i = 0; i < dashes.length; i++) {
    if (dashes.charCodeAt(i) === 45 && (i === 0 || dashes.charCodeAt(i - 1) !== 45)) starts.push(i)
  }
  const ends = starts.map((_, i) => starts[i + 1])
  const names = starts.map((s, i) => header.slice(s, ends[i]).trim())
  const rows = lines.slice(dashIdx + 1).filter((line) => line.trim() !== '')
  // Whether the row last read is laid out on the dashed line (null) or not
  // (its cells): callers read a row's cells one after another.
  let lastRow: string | undefined
  let lastCells: string[] | null = null
  return {
    names,
    rows,
    cell: (row, name) => {
      const i = names.lastIndexOf(name)
      if (i === -1) return ''
      if (row !== lastRow) {
        // A row not laid out on the dashed line (a value wider than its
        // dashes) is read as the runs between two or more spaces, if that
        // gives one value per column; otherwise as the dashes say.
        const split = laidOut(row, starts) ? null : row.trim().split(/ {2,}/)
        lastCells = split && split.length === names.length ? split : null
        lastRow = row
      }
      return lastCells ? (lastCells[i] as string) : row.slice(starts[i], ends[i]).trim()
    },
  }
}

/**
 * Whether a row sits on the columns its dashed line gives: no column starts
 * inside a word, and every gap of two or more spaces holds a column start.
 */
function laidOut(row: string, starts: number[]): boolean {
  for (let c = 1; c < starts.length; c++) {
    const at = starts[c] as number
    if (at < row.length && row.charCodeAt(at - 1) !== 32 && row.charCodeAt(at) !== 32) return false
  }
  // The last column is free text (a NIC's description): only the gaps before it count.
  const last = Math.min(row.length, starts[starts.length - 1] as number)
  let c = 0
  for (let i = row.indexOf('  '); i !== -1 && i < last; i = row.indexOf('  ', i)) {
    let j = i + 2
    while (j < row.length && row.charCodeAt(j) === 32) j++
    if (j === row.length) break
    while (c < starts.length && (starts[c] as number) < i) c++
    if (c === starts.length || (starts[c] as number) > j) return false
    i = j
  }
  return true
}

/** An esxcli table as one object per row, keyed by column name. */
export function parseTable(text: string): Row[] {
  const table = readTable(text)
  return table.rows.map((line) => {
    const row: Row = {}
    for (const name of table.names) row[name] = table.cell(line, name)
    return row
  })
}

const DASHED = /^-+( +-+)*\s*$/
/** Lines without their line ends (esxcli prints \n; a client may have added \r). */
function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (text.includes('\r'))
    for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] as string).replace(/\r$/, '')
  return lines
}

/**
 * Parses `   Key: value` lines (the shape of every esxcli "get"). Later keys win.
 * esxcli indents them; a line that is not indented is read the same way, since
 * only the examples in esxi.md show the indentation.
 */
export function parseKeyValues(text: string): Row {
  const out: Row = {}
  for (const line of splitLines(text)) {
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const key = line.slice(0, colon).trim()
    if (key !== '') out[key] = line.slice(colon + 1).trim()
  }
  return out
}

/**
 * Parses block output (`vswitch standard list`): one block of `Key: value`
 * lines per object. esxcli opens each with an unindented title line (the
 * vSwitch's name); esxi.md shows only the fields, so a blank line after a
 * field, or a key the block already has, opens the next block as well.
 */
export function parseBlocks(text: string): Row[] {
  const blocks: Row[] = []
  let current: Row | null = null
  let gap = false
  for (const line of splitLines(text)) {
    if (line.trim() === '') {
      gap = true
      continue
    }
    const m = /^\s*([^:]+?):\s?(.*)$/.exec(line)
    if (!m) {
      // A title line opens a block; other lines without a colon say nothing.
      if (!/^\s/.test(line)) {
        current = { '': line.trim() }
        blocks.push(current)
        gap = false
      }
      continue
    }
    const key = (m[1] as string).trim()
    const fields = current === null ? 0 : Object.keys(current).filter((k) => k !== '').length
    if (current === null || (gap && fields > 0) || Object.hasOwn(current, key)) {
      current = {}
      blocks.push(current)
    }
    gap = false
    current[key] = (m[2] as string).trim()
  }
  return blocks
}

/**
 * What a host may print for an empty list: esxi.md shows only filled ones (syslog prints
 * `<none>`, `platform get` prints `None` for nothing), so a whole value spelt like one of these
 * is no entry, not one named "None".
 */
const NOTHING = /^(?:<none>|\(none\)|none|n\/a|-)$/i

/** "a, b" -> [a, b]; "", "<none>", "None", "(none)", "N/A" and "-" -> []. */
export function parseList(value: string | undefined): string[] {
  if (!value || NOTHING.test(value)) return []
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i
const CANONICAL_MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/

export function normalizeMac(s: string): string | null {
  // esxcli prints the canonical form: nothing to rewrite.
  if (CANONICAL_MAC.test(s)) return s
  const mac = s.trim().toLowerCase().replace(/-/g, ':')
  return MAC.test(mac) ? mac : null
}

export interface NicInfo {
  name: string
  mac: string
  driver?: string
  link?: string
  speed?: string
}

/** `esxcli network nic list` -> NICs with a valid MAC. */
export function parseNicList(text: string): NicInfo[] {
  const { rows, cell } = readTable(text)
  const nics: NicInfo[] = []
  for (const line of rows) {
    const mac = normalizeMac(cell(line, 'MAC Address'))
    const name = cell(line, 'Name')
    if (!mac || !name) continue
    const nic: NicInfo = { name, mac }
    const driver = cell(line, 'Driver')
    const link = cell(line, 'Link Status')
    const speed = cell(line, 'Speed')
    if (driver) nic.driver = driver
    if (link) nic.link = link
    if (speed) nic.speed = speed
    nics.push(nic)
  }
  return nics
}

/**
 * ESXi prints the SMBIOS UUID as bytes without zero padding
 * (`0xff 0x0 0x33 ...`); this gives the usual 8-4-4-4-12 form.
 */
export function normalizeUuid(raw: string): string | null {
  if (!UUID_BYTES.test(raw)) return null
  // Sixteen "0x" and one or two hex digits each: read the digits after each x.
  const text = raw.toLowerCase()
  let hex = ''
  for (let i = text.indexOf('x'); i !== -1; i = text.indexOf('x', i + 2)) {
    hex += HEX_DIGIT[text.charCodeAt(i + 2)] ? text.slice(i + 1, i + 3) : `0${text[i + 1]}`
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** HEX_DIGIT[charCode] is true for 0-9 and a-f. */
const HEX_DIGIT = Array.from({ length: 128 }, (_, c) => /[0-9a-f]/.test(String.fromCharCode(c)))
const UUID_BYTES = /^\s*(0x[0-9a-f]{1,2}\s+){15}0x[0-9a-f]{1,2}\s*$/i

function present(v: string | undefined): string | null {
  return v && v !== 'None' ? v : null
}

export interface PlatformInfo {
  uuid: string | null
  model: string | null
  vendor: string | null
  serial: string | null
}

/** `esxcli hardware platform get` */
export function parsePlatform(text: string): PlatformInfo {
  const kv = parseKeyValues(text)
  return {
    uuid: normalizeUuid(kv['UUID'] ?? ''),
    model: present(kv['Product Name']),
    vendor: present(kv['Vendor Name']),
    serial: present(kv['Serial Number']),
  }
}

/** `esxcli system version get` -> "8.0.2" (with "U2" kept out) and the bare build number. */
export function parseVersion(text: string): { version: string | null; build: string | null } {
  const kv = parseKeyValues(text)
  const build = kv['Build'] ? (kv['Build'].match(/(\d+)\s*$/)?.[1] ?? kv['Build']) : null
  return { version: present(kv['Version']), build }
}

export interface Ipv4Interface {
  name: string
  address: string
  netmask: string
  gateway: string | null
  type: string | null
}

/** `esxcli network ip interface ipv4 get` */
export function parseIpv4Interfaces(text: string): Ipv4Interface[] {
  const { rows, cell } = readTable(text)
  const out: Ipv4Interface[] = []
  for (const line of rows) {
    const name = cell(line, 'Name')
    const address = cell(line, 'IPv4 Address')
    if (!name || !address) continue
    const gateway = cell(line, 'Gateway')
    out.push({
      name,
      address,
      netmask: cell(line, 'IPv4 Netmask'),
      gateway: present(gateway) && gateway !== '0.0.0.0' ? gateway : null,
      type: present(cell(line, 'Address Type')),
    })
  }
  return out
}

export interface HostnameInfo {
  host: string
  domain: string
  fqdn: string
}

/** `esxcli system hostname get` */
export function parseHostname(text: string): HostnameInfo {
  const kv = parseKeyValues(text)
  return {
    host: kv['Host Name'] ?? '',
    domain: kv['Domain Name'] ?? '',
    fqdn: kv['Fully Qualified Domain Name'] ?? '',
  }
}

/**
 * The kernel command line (`vsish -e get /system/bootCmdLine`), whose
 * surrounding output is unconfirmed: every `key=value` token anywhere counts,
 * also when the line is printed in quotes or braces, or glued to a label
 * (`bootCmdLine:"BOOTIF=...`): the key starts after the last `:"'{(` before
 * the first `=`, so a value keeps its own (`PBHOST=host:port`). checkin.sh's
 * boot_option reads it the same way.
 */
export function parseBootOptions(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const token of text.split(/\s+/)) {
    const m = /^(?:[^=]*[:"'{(])?([A-Za-z][\w.-]*)=(.*?)["'})]*$/.exec(token)
    if (m) out[m[1] as string] = m[2] as string
  }
  return out
}

/** BOOTIF=01-aa-bb-cc-dd-ee-ff (mboot's own token) -> aa:bb:cc:dd:ee:ff */
export function bootMacFrom(options: Record<string, string>): string | null {
  const v = options['BOOTIF']
  if (!v) return null
  return normalizeMac(v.replace(/^01-/, ''))
}

/** `esxcli system ntp get` */
export function parseNtp(text: string): { enabled: boolean; servers: string[] } {
  const kv = parseKeyValues(text)
  return { enabled: kv['Enabled'] === 'true', servers: parseList(kv['Servers']) }
}

/** `esxcli network firewall ruleset list` -> name -> enabled */
export function parseRulesets(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {}
  for (const r of parseTable(text)) if (r['Name']) out[r['Name']] = r['Enabled'] === 'true'
  return out
}
