// What a form holds for one setting, and how that becomes the value the
// setting's own zod schema validates. The catalogue's field spec decides the
// shape (text, a tick, an object's fields, a table's rows); nothing here knows
// a setting by name.
import { z } from 'zod'
import type { AnySetting, Field, TableColumn } from '../../../main/catalogue/types'
import { splitWords } from '../../../main/catalogue/values'

/** A field that one input draws (everything but a table or an object). */
export type ScalarField = TableColumn['field'] | Extract<Field, { kind: 'secret' }>
/** What one input holds: text for most kinds; a tick, or nothing chosen yet, for a boolean. */
export type Cell = string | boolean | null
export type Row = Record<string, Cell>
/** A setting in the form: one cell, an object's cells, or a table's rows (null: no table of its own). */
export type Draft = Cell | Row | Row[]

/** Where a value sits in a form: '' for the whole setting, `field` of an object, `row.column` of a table. */
export type FieldErrors = ReadonlyMap<string, string>

export const NO_ERRORS: FieldErrors = new Map()

/**
 * A setting whose value the screen never holds: flagged secret, or drawn as a
 * secret field (the catalogue's licence and root password settings say so
 * only by their field kind).
 */
export function isSecret(s: AnySetting): boolean {
  return s.secret === true || s.field.kind === 'secret'
}

/**
 * A spec as the API gave it, split for a screen: the values it may show, and
 * the secret settings that hold one (whichever way the API reported them).
 */
export function withoutSecrets(
  spec: Record<string, unknown>,
  secretsSet: readonly string[],
  settings: readonly AnySetting[],
): { spec: Record<string, unknown>; secretsSet: string[] } {
  const secret = new Set(settings.filter(isSecret).map((s) => s.key))
  const shown = Object.entries(spec).filter(([k]) => !secret.has(k))
  const held = Object.keys(spec).filter((k) => secret.has(k) && spec[k] !== undefined)
  return { spec: Object.fromEntries(shown), secretsSet: [...new Set([...secretsSet, ...held])] }
}

export function emptyCell(field: ScalarField): Cell {
  return field.kind === 'boolean' ? null : ''
}

export function emptyRow(columns: readonly TableColumn[]): Row {
  return Object.fromEntries(columns.map((c) => [c.key, emptyCell(c.field)]))
}

function toCell(field: ScalarField, v: unknown): Cell {
  if (field.kind === 'boolean') return typeof v === 'boolean' ? v : null
  if (v === undefined || v === null || field.kind === 'secret') return ''
  const text = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x))
  if (field.kind === 'list' && Array.isArray(v)) return v.map(text).join(', ')
  if (field.kind === 'lines' && Array.isArray(v)) return v.map(text).join('\n')
  return text(v)
}

/** The form's starting point for a value (undefined: the setting is not set here). */
export function toDraft(field: Field, v: unknown): Draft {
  if (field.kind === 'table') {
    if (!Array.isArray(v)) return null
    return v.map((row: Record<string, unknown>) =>
      Object.fromEntries(field.columns.map((c) => [c.key, toCell(c.field, row[c.key])])),
    )
  }
  if (field.kind === 'object') {
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>
    return Object.fromEntries(field.fields.map((f) => [f.key, toCell(f.field, o[f.key])]))
  }
  return toCell(field, v)
}

export function cellIsSet(c: Cell): boolean {
  return typeof c === 'boolean' || (typeof c === 'string' && c.trim() !== '')
}

/** Whether the operator gave this setting a value here. */
export function draftIsSet(field: Field, d: Draft): boolean {
  if (field.kind === 'table') return Array.isArray(d)
  if (field.kind === 'object') return Object.values(d as Row).some(cellIsSet)
  return cellIsSet(d as Cell)
}

/** The schemas of an object's fields or a table's columns, for their defaults and their types. */
export function memberSchemas(setting: AnySetting): Record<string, z.ZodType> {
  let s: z.ZodType = setting.value
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType
  if (s instanceof z.ZodArray) s = s.element as z.ZodType
  return s instanceof z.ZodObject ? s.shape : {}
}

/** What the schema fills in when a member is left out (MTU 1500, VLAN 0), or undefined. */
export function defaultOf(schema: z.ZodType | undefined): unknown {
  const r = schema?.safeParse(undefined)
  return r?.success ? r.data : undefined
}

/**
 * One cell as the schema's input. `inside`: a member of an object or a row,
 * where an empty cell is an empty value (so the schema names what is
 * missing), not a setting left unset.
 */
function cellValue(field: ScalarField, c: Cell, schema: z.ZodType | undefined, inside: boolean) {
  if (field.kind === 'boolean') return c === null ? undefined : c
  const s = typeof c === 'string' ? c : ''
  if (s.trim() === '') {
    if (!inside || field.kind === 'number' || field.kind === 'select') return undefined
    return field.kind === 'list' || field.kind === 'lines' ? [] : ''
  }
  switch (field.kind) {
    case 'list':
      return splitWords(s)
    case 'lines':
      return s
        .split('\n')
        .map((l) => l.replace(/\r$/, ''))
        .filter((l) => l.trim() !== '')
    case 'number':
      return Number(s.trim())
    case 'text': {
      // A text member that also takes numbers (an advanced option's value) keeps a whole number
      // as a number, so what was stored reads back unchanged.
      const n = Number(s.trim())
      return /^-?\d+$/.test(s.trim()) && schema?.safeParse(n).success ? n : s
    }
    default:
      return s
  }
}

/**
 * The value the form gives a setting, as its schema's input; undefined when
 * it is not set here. An object set in part takes its other fields from
 * `inherited` (the site profile's value on a host's form). An emptied table
 * is [] only where that differs from not setting it: over an inherited one.
 */
export function draftValue(setting: AnySetting, d: Draft, inherited: unknown): unknown {
  const field = setting.field
  const members = memberSchemas(setting)
  if (field.kind === 'table') {
    if (!Array.isArray(d)) return undefined
    if (d.length === 0 && inherited === undefined) return undefined
    return d.map((row) => {
      const out: Record<string, unknown> = {}
      for (const c of field.columns) {
        const v = cellValue(c.field, row[c.key] ?? null, members[c.key], true)
        if (v !== undefined) out[c.key] = v
      }
      return out
    })
  }
  if (field.kind === 'object') {
    const row = d as Row
    if (!field.fields.some((f) => cellIsSet(row[f.key] ?? null))) return undefined
    const base = (typeof inherited === 'object' && inherited !== null ? inherited : {}) as Record<
      string,
      unknown
    >
    const out: Record<string, unknown> = {}
    for (const f of field.fields) {
      const cell = row[f.key] ?? null
      const v = cellIsSet(cell) ? cellValue(f.field, cell, members[f.key], true) : base[f.key]
      if (v !== undefined) out[f.key] = v
    }
    return out
  }
  return cellValue(field, d as Cell, setting.value, false)
}

/** zod's own words for a missing value, said for people. */
function readable(message: string): string {
  return /received undefined/.test(message) ? 'this is needed' : message
}

/** The form position an issue's path points at; '' is the setting as a whole. */
function fieldPosition(field: Field, path: ReadonlyArray<PropertyKey>): string {
  const [first, second] = path
  if (field.kind === 'table' && typeof first === 'number' && typeof second === 'string') {
    return field.columns.some((c) => c.key === second) ? `${first}.${second}` : ''
  }
  if (field.kind === 'object' && typeof first === 'string') {
    return field.fields.some((f) => f.key === first) ? first : ''
  }
  return ''
}

/** Issues placed where the form draws them: the first message per position. */
export function placeIssues(
  field: Field,
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  into: ReadonlyMap<string, string> = NO_ERRORS,
): FieldErrors {
  const out = new Map(into)
  for (const i of issues) {
    const at = fieldPosition(field, i.path)
    // A table-wide message about one row says which row.
    const rowOnly = at === '' && field.kind === 'table' && typeof i.path[0] === 'number'
    const message = rowOnly ? `row ${Number(i.path[0]) + 1}: ${i.message}` : i.message
    if (!out.has(at)) out.set(at, readable(message))
  }
  return out
}

/** Object keys in a stable order, so equal values compare equal as text. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  )
}
