// The hosts CSV opened in a spreadsheet: no cell Midwife writes is run as a formula, and the
// import reads back what the export meant.
import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import {
  cellValue,
  hostColumns,
  readHostsCsv,
  safeCell,
  writeCsv,
} from '../../main/core/hosts/csv-format'

const FORMULAS = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']

describe('CSV cells and spreadsheets', () => {
  it('writes a cell a spreadsheet would take for a formula with a quote in front, and reads it back as it was', () => {
    const cells = [...FORMULAS, "'=already quoted", "''+twice", 'plain', "'not a formula", '']
    const text = writeCsv(['a comment'], [cells])
    const written: string[] | undefined = parse(text, { comment: '#' })[0]
    expect(written?.slice(0, FORMULAS.length).every((c) => c.startsWith("'"))).toBe(true)
    expect(written?.slice(FORMULAS.length)).toEqual([
      "''=already quoted",
      "'''+twice",
      'plain',
      "'not a formula",
      '',
    ])
    expect(written?.map(cellValue)).toEqual(cells)
    for (const c of cells) expect(cellValue(safeCell(c))).toBe(c)
  })

  it('imports an exported cell without the quote, so its own checks still see the formula', () => {
    const row = (cells: Record<string, string>) => hostColumns().map((c) => cells[c] ?? '')
    const identity = { hostname: 'esx01', domain: 'lab.local', mac: '00:50:56:aa:bb:01' }
    const text = writeCsv([], [hostColumns(), row({ ...identity, ssh_user: '=cmd' })])
    expect(text).toContain(",'=cmd,")
    const [host] = readHostsCsv(text).candidates
    // The SSH user is refused as a formula, not as a name with a quote in it.
    expect(host?.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('an SSH user name does not start with =, +, - or @') as unknown,
    ])
    // A root password is never exported: a cell of one is the operator's, taken as typed.
    const typed = `${hostColumns().join(',')}\n${row({ ...identity, root_password: "'=Install-pw-42" }).join(',')}\n`
    expect(readHostsCsv(typed).candidates[0]?.password).toEqual({ plain: "'=Install-pw-42" })
  })
})
