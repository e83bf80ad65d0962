// Parsers for what esxcli, vim-cmd and vsish print. Used both on the raw
// outputs a check-in carries and on what a configuration step reads back, so
// the host and Midwife never disagree about a format.

export type Row = Record<string, string>

/**
 * Parses an esxcli table. Column spans come from the dashed line of this very
 * output (widths follow the longest value, so they differ from host to host);
 * a cell may be empty and a value may contain single spaces.
 */
export function parseTable(text: string): Row[] {
  const lines = splitLines(text)
  // The dashed line starts with a dash (45): only such lines are tried.
  const dashIdx = lines.findIndex((l) => l.charCodeAt(0) === 45 && DASHED.test(l))
  if (dashIdx < 1) return []
  const header = lines[dashIdx - 1] as string
  const dashes = lines[dashIdx] as string
  // Each column runs from its dashes to the next column's (the last to the line's end).
  const starts: number[] = []
  for (let i = 0; i < dashes.length; i++) {
    if (dashes.charCodeAt(i) === 45 && (i === 0 || dashes.charCodeAt(i - 1) !== 45)) starts.push(i)
  }
  const ends = starts.map((_, i) => starts[i + 1])
  const names = starts.map((s, i) => header.slice(s, ends[i]).trim())
  const rows: Row[] = []
  for (let l = dashIdx + 1; l < lines.length; l++) {
    const line = lines[l] as string
    if (line.trim() === '') continue
    const row: Row = {}
    for (let i = 0; i < starts.length; i++) {
      row[names[i] as string] = line.slice(starts[i], ends[i]).trim()
    }
    rows.push(row)
  }
  return rows
}

const DASHED = /^-+( +-+)*\s*$/

/** Lines without their line ends (esxcli prints \n; a client may have added \r). */
function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (text.includes('\r'))
    for (let i = 0; i < lines.length; i++) lines[i] = (lines[i] as string).replace(/\r$/, '')
  return lines
}

/** Parses `   Key: value` lines (the shape of every esxcli "get"). Later keys win. */
export function parseKeyValues(text: string): Row {
  const out: Row = {}
  for (const line of splitLines(text)) {
    const first = line.charCodeAt(0)
    // Indented lines only: 32 space, 9 tab.
    if (first !== 32 && first !== 9) continue
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const key = line.slice(0, colon).trim()
    if (key !== '') out[key] = line.slice(colon + 1).trim()
  }
  return out
}

/**
 * Parses block output (`vswitch standard list`): an unindented title line opens
 * a block of indented `Key: value` lines.
 */
export function parseBlocks(text: string): Row[] {
  const blocks: Row[] = []
  let current: Row | null = null
  for (const line of splitLines(text)) {
    if (line.trim() === '') continue
    if (!/^\s/.test(line)) {
      current = { '': line.trim() }
      blocks.push(current)
      continue
    }
    const m = /^\s*([^:]+?):\s?(.*)$/.exec(line)
    if (m && current) current[(m[1] as string).trim()] = (m[2] as string).trim()
  }
  return blocks
}

/** "a, b" -> [a, b]; "" and "<none>" -> []. */
export function parseList(value: string | undefined): string[] {
  if (!value || value === '<none>') return []
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i

export function normalizeMac(s: string): string | null {
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
  const nics: NicInfo[] = []
  for (const row of parseTable(text)) {
    const mac = normalizeMac(row['MAC Address'] ?? '')
    const name = row['Name']
    if (!mac || !name) continue
    const nic: NicInfo = { name, mac }
    if (row['Driver']) nic.driver = row['Driver']
    if (row['Link Status']) nic.link = row['Link Status']
    if (row['Speed']) nic.speed = row['Speed']
    nics.push(nic)
  }
  return nics
}

/**
 * ESXi prints the SMBIOS UUID as bytes without zero padding
 * (`0xff 0x0 0x33 ...`); this gives the usual 8-4-4-4-12 form.
 */
export function normalizeUuid(raw: string): string | null {
  if (!/^\s*(0x[0-9a-f]{1,2}\s+){15}0x[0-9a-f]{1,2}\s*$/i.test(raw)) return null
  const bytes = raw.trim().split(/\s+/)
  const hex = bytes.map((b) => b.slice(2).toLowerCase().padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

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
  return parseTable(text)
    .filter((r) => r['Name'] && r['IPv4 Address'])
    .map((r) => ({
      name: r['Name'] as string,
      address: r['IPv4 Address'] as string,
      netmask: r['IPv4 Netmask'] ?? '',
      gateway:
        present(r['Gateway']) && r['Gateway'] !== '0.0.0.0' ? (r['Gateway'] as string) : null,
      type: present(r['Address Type']),
    }))
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
 * surrounding output is unconfirmed: every `key=value` token anywhere counts.
 */
export function parseBootOptions(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const token of text.split(/\s+/)) {
    const m = /^([A-Za-z][\w.-]*)=(.*)$/.exec(token)
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
