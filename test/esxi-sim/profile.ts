import type { SimState } from './state'

// The releases the simulator models. Every difference between them that esxi.md states is derived
// here from the host's `version`, so a test that hand-sets a version (say 7.0.0) gets that
// release's behaviour too.

export const ESXI_PROFILES = ['7.0.3', '8.0.2', '9.0'] as const
export type EsxiProfile = (typeof ESXI_PROFILES)[number]

const VERSIONS: Record<EsxiProfile, SimState['version']> = {
  // invented: a plausible 7.0 Update 3 build; esxi.md gives only the 7.0.3 keyvalue line.
  '7.0.3': {
    product: 'VMware ESXi',
    version: '7.0.3',
    build: 'Releasebuild-21930508',
    update: '3',
    patch: '0',
  },
  // esxi.md's `system version get` sample.
  '8.0.2': {
    product: 'VMware ESXi',
    version: '8.0.2',
    build: 'Releasebuild-22380479',
    update: '2',
    patch: '0',
  },
  // esxi.md: 9.0 adds `Maintenance: 0`, and 9.x says "ESX", not "ESXi". The exact product string
  // and the build number are invented.
  '9.0': {
    product: 'VMware ESX',
    version: '9.0.0',
    build: 'Releasebuild-24755229',
    update: '0',
    patch: '0',
    maintenance: '0',
  },
}

export function profileVersion(profile: EsxiProfile): SimState['version'] {
  const v = VERSIONS[profile]
  if (v === undefined) throw new Error(`unknown ESXi profile ${String(profile)}`)
  return { ...v }
}

/** Major, minor and update of the running release (`7.0.3` is 7.0 Update 3). */
function release(s: SimState): [number, number, number] {
  const [major = 0, minor = 0, update = 0] = s.version.version.split('.').map(Number)
  return [major, minor, update]
}

function atLeast(s: SimState, want: [number, number, number]): boolean {
  const have = release(s)
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0
    const w = want[i] ?? 0
    if (h !== w) return h > w
  }
  return true
}

/** esxi.md: `esxcli system ntp` exists from 7.0 Update 1. */
export const hasNtpCommands = (s: SimState) => atLeast(s, [7, 0, 1])

/** esxi.md: 9.x hosts are licensed through vCenter; `serialnum` no longer licenses them. */
export const licensedThroughVcenter = (s: SimState) => atLeast(s, [9, 0, 0])

/** The vSphere generation a licence names (invented wording, see the licence output). */
export const vsphereMajor = (s: SimState) => release(s)[0]
