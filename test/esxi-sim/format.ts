// esxcli handlers return data, not text, so that the plain rendering and the
// --formatter=keyvalue|json|csv renderings cannot disagree about what a command returned.

export type Value = string | number | boolean | string[]

export interface Field {
  label: string
  value: Value
}

export interface Column {
  label: string
}

export interface Block {
  // Printed unindented above the fields (e.g. `Platform Information`, or a vSwitch's name).
  title?: string
  fields: Field[]
}

export type Output =
  | { kind: 'none' }
  | { kind: 'scalar'; value: string }
  | ({ kind: 'object'; type: string } & Block)
  | { kind: 'blocks'; type: string; items: Block[] }
  | { kind: 'table'; type: string; columns: Column[]; rows: Value[][] }

export type Formatter = 'plain' | 'keyvalue' | 'json' | 'csv'

export const FORMATTERS: readonly Formatter[] = ['plain', 'keyvalue', 'json', 'csv']

// Structure member names are the display labels without spaces (`MAC Address` -> `MACAddress`),
// which is how esxcli names them in keyvalue/json/csv output.
export const keyOf = (label: string) => label.replace(/\s+/g, '')

const plainValue = (v: Value): string => (Array.isArray(v) ? v.join(', ') : String(v))

function renderFields(fields: Field[]): string {
  return fields.map((f) => `   ${f.label}: ${plainValue(f.value)}\n`).join('')
}

function renderBlock(b: Block): string {
  return (b.title === undefined ? '' : `${b.title}\n`) + renderFields(b.fields)
}

/**
 * Plain tables: each column is as wide as its longest cell or header, numbers and booleans are
 * right-aligned (header too), columns are separated by two spaces. The last text column is not
 * padded and its dashes only cover the header: esxi.md's `nic list` shows `-----------` under
 * `Description` although the value is much longer.
 */
function renderTable(columns: Column[], rows: Value[][]): string {
  const cells = rows.map((r) => r.map(plainValue))
  const rightAligned = columns.map(
    (_, i) =>
      rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || typeof r[i] === 'boolean'),
  )
  const last = columns.length - 1
  const widths = columns.map((c, i) => {
    if (i === last && !rightAligned[i]) return c.label.length
    return Math.max(c.label.length, ...cells.map((r) => (r[i] ?? '').length))
  })
  const line = (texts: string[]) =>
    texts
      .map((t, i) => {
        const w = widths[i] ?? 0
        if (rightAligned[i]) return t.padStart(w)
        return i === last ? t : t.padEnd(w)
      })
      .join('  ')
      .trimEnd() + '\n'
  return (
    line(columns.map((c) => c.label)) +
    widths.map((w) => '-'.repeat(w)).join('  ') +
    '\n' +
    cells.map(line).join('')
  )
}

function typeName(v: Value): string {
  if (Array.isArray(v)) return 'string[]'
  if (typeof v === 'number') return 'integer'
  if (typeof v === 'boolean') return 'boolean'
  return 'string'
}

// Not from esxi.md beyond `VersionGet.Version.string=7.0.3`: list members get one line per
// element, and an empty list prints no line.
function keyvalueFields(type: string, fields: Field[]): string {
  return fields
    .map((f) => {
      const key = `${type}.${keyOf(f.label)}.${typeName(f.value)}`
      if (Array.isArray(f.value)) return f.value.map((e) => `${key}=${e}\n`).join('')
      return `${key}=${String(f.value)}\n`
    })
    .join('')
}

function records(out: Output): Field[][] {
  switch (out.kind) {
    case 'object':
      return [out.fields]
    case 'blocks':
      return out.items.map((b) => b.fields)
    case 'table':
      return out.rows.map((r) => out.columns.map((c, i) => ({ label: c.label, value: r[i] ?? '' })))
    default:
      return []
  }
}

function jsonObject(fields: Field[]): string {
  const sorted = [...fields].sort((a, b) => keyOf(a.label).localeCompare(keyOf(b.label)))
  // Python-style separators, as esxcli's json output uses.
  return `{${sorted.map((f) => `${JSON.stringify(keyOf(f.label))}: ${JSON.stringify(f.value)}`).join(', ')}}`
}

function csvCell(v: Value): string {
  const s = Array.isArray(v) ? v.join(',') : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function csv(recs: Field[][], fallbackLabels: string[]): string {
  const labels = (recs[0]?.map((f) => f.label) ?? fallbackLabels).toSorted((a, b) =>
    keyOf(a).localeCompare(keyOf(b)),
  )
  const head = labels.map((l) => `${keyOf(l)},`).join('')
  const body = recs.map(
    (fields) =>
      labels.map((l) => `${csvCell(fields.find((f) => f.label === l)?.value ?? '')},`).join('') +
      '\n',
  )
  return `${head}\n${body.join('')}`
}

export function render(out: Output, formatter: Formatter): string {
  if (out.kind === 'none') return ''
  if (formatter === 'plain') {
    switch (out.kind) {
      case 'scalar':
        return `${out.value}\n`
      case 'object':
        return renderBlock(out)
      case 'blocks':
        return out.items.map((b) => renderBlock(b) + '\n').join('')
      case 'table':
        return renderTable(out.columns, out.rows)
    }
  }
  // Scalar results in machine formats are not described anywhere we could check; these are
  // plausible guesses (a JSON string, a bare `string=` line, the bare value).
  if (out.kind === 'scalar') {
    if (formatter === 'json') return `${JSON.stringify(out.value)}\n`
    if (formatter === 'keyvalue') return `string=${out.value}\n`
    return `${out.value}\n`
  }
  const recs = records(out)
  if (formatter === 'keyvalue')
    return recs.map((fields) => keyvalueFields(out.type, fields)).join('')
  if (formatter === 'json') {
    if (out.kind === 'object') return `${jsonObject(out.fields)}\n`
    return `[${recs.map(jsonObject).join(', ')}]\n`
  }
  return csv(recs, out.kind === 'table' ? out.columns.map((c) => c.label) : [])
}
