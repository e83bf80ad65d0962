import { z } from 'zod'
import { esxcli, hostSaid } from '../shell'
import { defineSetting } from '../types'

export type MaintenanceState = 'enter' | 'exit'

const base = ['system', 'maintenanceMode']

/** Maintenance mode as a wanted state: `maintenanceMode get` prints Enabled or Disabled. */
export const maintenanceMode = defineSetting<MaintenanceState>({
  key: 'maintenanceMode',
  title: 'Maintenance mode',
  group: 'security',
  description:
    'Whether the host is in maintenance mode; ESXi enters it only once no VM runs on the host, so stop or move them first.',
  example: 'enter',
  value: z.enum(['enter', 'exit'], { message: 'maintenance mode is enter or exit' }),
  scope: 'host',
  field: {
    kind: 'select',
    options: [
      { value: 'enter', label: 'Enter maintenance mode' },
      { value: 'exit', label: 'Exit maintenance mode' },
    ],
  },
  csv: {
    columns: ['maintenance_mode'],
    toCsv: (v) => ({ maintenance_mode: v }),
    fromCsv(row) {
      const v = row.maintenance_mode?.trim().toLowerCase()
      if (!v) return undefined
      if (v !== 'enter' && v !== 'exit')
        throw new Error(`maintenance_mode is enter or exit, not ${row.maintenance_mode}`)
      return v
    },
  },
  async read(r) {
    const text = await r.read(esxcli(...base, 'get'))
    if (/\bEnabled\b/.test(text)) return 'enter'
    if (/\bDisabled\b/.test(text)) return 'exit'
    throw new Error(
      `maintenanceMode get printed neither Enabled nor Disabled: ${hostSaid({ stdout: text, stderr: '' }) || 'nothing'}`,
    )
  },
  diff(current, wanted) {
    if (current === wanted) return []
    return [
      {
        summary: wanted === 'enter' ? 'enter maintenance mode' : 'exit maintenance mode',
        commands: [{ words: esxcli(...base, 'set', '-e', String(wanted === 'enter')) }],
      },
    ]
  },
  show: (v) => (v === 'enter' ? 'in maintenance mode' : 'not in maintenance mode'),
  connection: 'keeps',
})
