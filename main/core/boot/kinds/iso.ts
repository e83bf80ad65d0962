// Booting the ISO (virtual media, USB): the operator presses Shift+O at the
// installer's boot prompt and types these options after `runweasel
// cdromBoot`. ks= must be an IP literal: the installer may have no DNS.
import { lengthWarning } from '../boot-cfg'
import type { BootContext, BootContextHost, BootKind, KindResult } from '../input'
import { hostKernelOptions, hostLabel, kickstartUrlOf } from '../layout'
import { hostSecrets } from './shared'

const ID = 'iso'
/** What the ISO's kernelopt already holds, ahead of what the operator types. */
const ISO_KERNELOPT = 'runweasel cdromBoot'

const IP_URL = /^https?:\/\/\d{1,3}(\.\d{1,3}){3}(:\d+)?\//

export function isoBootOptions(c: BootContext, h: BootContextHost): string {
  const opts = [hostKernelOptions(c, h)]
  const n = h.installerNetwork
  if (n !== undefined) {
    opts.push(`ip=${n.ip}`, `netmask=${n.netmask}`, `gateway=${n.gateway}`)
    if (n.nameserver !== undefined) opts.push(`nameserver=${n.nameserver}`)
    if (n.vlanId !== undefined) opts.push(`vlanid=${n.vlanId}`)
  }
  // Unnamed, the installer fetches through the first NIC with a link (no BOOTIF from an ISO
  // boot), which need not reach Midwife; the host's MAC is the NIC its kickstart configures.
  opts.push(`netdevice=${n?.netdevice ?? h.mac}`)
  return opts.join(' ')
}

function render(c: BootContext): KindResult {
  const h = c.host
  if (h === undefined) return { artifacts: [], warnings: [] }
  const options = isoBootOptions(c, h)
  const warnings: string[] = []
  const long = lengthWarning(
    `ISO boot options for ${hostLabel(h)}`,
    `${ISO_KERNELOPT} ${options}`.length,
  )
  if (long !== undefined) warnings.push(long)
  if (!IP_URL.test(kickstartUrlOf(c, h))) {
    warnings.push(
      `The kickstart URL for ${hostLabel(h)} uses a DNS name the installer may not resolve; use the listener's IP address.`,
    )
  }
  return {
    artifacts: [
      {
        kind: ID,
        scope: 'host',
        title: `Shift+O options for ${h.hostname}`,
        delivery: 'console',
        path: `${h.hostname}-iso-boot-options.txt`,
        text: `${options}\n`,
        syntax: 'boot-options',
        secrets: hostSecrets(h),
      },
    ],
    warnings,
  }
}

export const iso: BootKind = {
  id: ID,
  label: 'ISO (Shift+O)',
  firmware: 'any',
  description:
    'For a server booted from the ISO (virtual media or USB): press Shift+O at the installer prompt and type these options after "runweasel cdromBoot". netdevice= names the host\'s NIC, so the installer fetches through it rather than the first NIC with a link; ip=, netmask=, gateway= and vlanid= are added when the host has a static installer address, for VLANs without DHCP.',
  applies: (c) =>
    c.host !== undefined
      ? { applies: true }
      : { applies: false, reason: 'the ISO options are per host' },
  render,
}
