// What every DHCP generator takes, and the client facts they all split on.
import { z } from 'zod'
import { Ipv4, LeaseSeconds } from '../../../contract/schemas'
import type { BootContext } from '../input'
import { httpPaths, listenerBase, tftpPaths } from '../layout'
import { httpBootUrl } from '../kinds/uefi-http'

/**
 * DHCP option 93 (client system architecture), RFC 4578 and the IANA
 * registry. x64 UEFI PXE firmware sends 7 (EFI BC) or 9 (EFI x86-64): both
 * occur in the field, so both get mboot.efi. 16 is x64 UEFI HTTP boot.
 */
export const CLIENT_ARCH = { bios: 0, efiBc: 7, efiX64: 9, httpX64: 16 } as const

/** iPXE puts this in option 77 (user class), so it gets a script, not another loader. */
export const IPXE_USER_CLASS = 'iPXE'
/** UEFI HTTP boot clients send option 60 starting with this and expect it echoed. */
export const HTTP_CLIENT_CLASS = 'HTTPClient'

const FileName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._/-]+$/, 'must be a path on the TFTP server, like esxi/mboot.efi')

export const DhcpInput = z
  .object({
    /**
     * full: this server hands out addresses on the subnet. proxy (dnsmasq
     * only): another server owns DHCP; dnsmasq only adds the boot answers.
     */
    mode: z.enum(['full', 'proxy']).default('full'),
    subnet: z.object({
      network: Ipv4,
      prefixLength: z.number().int().min(8).max(30),
      rangeStart: Ipv4.optional(),
      rangeEnd: Ipv4.optional(),
      router: Ipv4.optional(),
      dnsServers: z.array(Ipv4).max(8).default([]),
      leaseSeconds: LeaseSeconds,
    }),
    /** The TFTP server (next-server / siaddr). */
    tftpServer: Ipv4,
    /** PXE clients get iPXE (undionly.kpxe / snponly.efi) first, which then fetches the menu. */
    chainIpxe: z.boolean().default(false),
    files: z.object({
      pxelinux: FileName.default('pxelinux.0'),
      mbootEfi: FileName,
      ipxeBios: FileName.default('undionly.kpxe'),
      ipxeUefi: FileName.default('snponly.efi'),
    }),
    ipxeScriptUrl: z.string().regex(/^https?:\/\/\S+$/),
    httpBootUrl: z.string().regex(/^https?:\/\/\S+$/),
  })
  .superRefine((d, ctx) => {
    if (
      d.mode === 'full' &&
      (d.subnet.rangeStart === undefined || d.subnet.rangeEnd === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['subnet', 'rangeStart'],
        message: 'full DHCP needs an address range (rangeStart and rangeEnd)',
      })
    }
  })
export type DhcpInput = z.input<typeof DhcpInput>
export type DhcpConfig = z.output<typeof DhcpInput>

export interface DhcpOutput {
  flavour: 'dnsmasq' | 'isc-dhcpd' | 'kea' | 'windows'
  /** Download name. */
  fileName: string
  text: string
  warnings: string[]
}

/** The boot file URLs and paths, taken from the boot layout so DHCP and the files agree. */
export function dhcpBootTargets(c: BootContext): Pick<
  DhcpInput,
  'ipxeScriptUrl' | 'httpBootUrl'
> & {
  files: { mbootEfi: string }
} {
  return {
    ipxeScriptUrl: `${listenerBase(c)}${httpPaths.ipxeMenu}`,
    httpBootUrl: httpBootUrl(c),
    files: { mbootEfi: tftpPaths.mbootEfi(c) },
  }
}

export function netmaskOf(prefixLength: number): string {
  const bits = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.')
}

/** What BIOS and UEFI PXE clients are handed: iPXE, or the ESXi loaders directly. */
export function pxeFiles(d: DhcpConfig): { bios: string; uefi: string } {
  return d.chainIpxe
    ? { bios: d.files.ipxeBios, uefi: d.files.ipxeUefi }
    : { bios: d.files.pxelinux, uefi: d.files.mbootEfi }
}

export function parseDhcpInput(input: DhcpInput): DhcpConfig {
  return DhcpInput.parse(input)
}

export function fullOnly(flavour: string, d: DhcpConfig): void {
  if (d.mode === 'proxy') {
    throw new Error(
      `${flavour} has no proxy-DHCP mode; use dnsmasq in proxy mode next to a DHCP server you do not control`,
    )
  }
}
