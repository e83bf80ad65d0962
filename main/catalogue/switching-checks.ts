// Checks across the vSwitch, port group and VMkernel NIC settings of one
// resolved spec: each value is valid alone, but a port group must sit on a
// vSwitch the design has, and a VMkernel NIC on a port group it has.
import type { PortgroupRow } from './settings/portgroups'
import type { VmknicRow } from './settings/vmknics'
import type { VswitchRow } from './settings/vswitches'

/** What every fresh ESXi install has: vSwitch0 with these two port groups. */
const INSTALLED_VSWITCH = 'vSwitch0'
const INSTALLED_PORTGROUPS = ['VM Network', 'Management Network']

export interface SpecProblem {
  /** The setting whose field is wrong. */
  key: string
  /** Where in its value: [row, field]. */
  path: Array<string | number>
  message: string
}

export interface SwitchingDesign {
  vswitches?: VswitchRow[]
  portgroups?: PortgroupRow[]
  vmknics?: VmknicRow[]
}

export function checkSwitchingDesign(spec: SwitchingDesign): SpecProblem[] {
  const problems: SpecProblem[] = []
  const switches = new Map((spec.vswitches ?? []).map((v) => [v.name, v]))
  spec.portgroups?.forEach((p, i) => {
    if (p.vswitch !== INSTALLED_VSWITCH && !switches.has(p.vswitch)) {
      problems.push({
        key: 'portgroups',
        path: [i, 'vswitch'],
        message: `${p.name} is on ${p.vswitch}, which is not in the vSwitch table (a fresh host has only ${INSTALLED_VSWITCH})`,
      })
    }
  })
  const groups = new Map((spec.portgroups ?? []).map((p) => [p.name, p]))
  spec.vmknics?.forEach((v, i) => {
    if (v.portgroup === 'Management Network') {
      problems.push({
        key: 'vmknics',
        path: [i, 'portgroup'],
        message: `Management Network holds vmk0, whose address is set under Management network; give this VMkernel NIC a port group of its own`,
      })
      return
    }
    const group = groups.get(v.portgroup)
    if (!group && !INSTALLED_PORTGROUPS.includes(v.portgroup)) {
      problems.push({
        key: 'vmknics',
        path: [i, 'portgroup'],
        message: `${v.portgroup} is not in the port group table`,
      })
      return
    }
    const vswitch = switches.get(group?.vswitch ?? INSTALLED_VSWITCH)
    if (vswitch && v.mtu !== null && v.mtu > vswitch.mtu) {
      problems.push({
        key: 'vmknics',
        path: [i, 'mtu'],
        message: `MTU ${v.mtu} is above ${vswitch.name}'s MTU ${vswitch.mtu}: larger frames would be dropped`,
      })
    }
  })
  return problems
}
