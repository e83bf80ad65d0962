// dnsmasq: full DHCP, or proxy-DHCP beside a DHCP server the site does not
// control (dnsmasq then answers only PXE clients, with pxe-service lines).
import {
  CLIENT_ARCH,
  HTTP_CLIENT_CLASS,
  IPXE_USER_CLASS,
  netmaskOf,
  parseDhcpInput,
  pxeFiles,
  type DhcpInput,
  type DhcpOutput,
} from './input'

export function dnsmasqConfig(input: DhcpInput): DhcpOutput {
  const d = parseDhcpInput(input)
  const f = pxeFiles(d)
  const mask = netmaskOf(d.subnet.prefixLength)
  const warnings: string[] = []
  const lines = [
    '# Midwife: network boot for ESXi hosts (dnsmasq).',
    `# ${d.mode === 'proxy' ? 'Proxy-DHCP: another server hands out addresses; dnsmasq adds only the boot answers.' : 'Full DHCP on this subnet.'}`,
    '# Add to /etc/dnsmasq.d/ and check with: dnsmasq --test -C <this file>',
    '',
    '# iPXE says who it is in option 77; it gets the menu script instead of another loader.',
    `dhcp-userclass=set:ipxe,${IPXE_USER_CLASS}`,
  ]
  if (d.mode === 'proxy') {
    lines.push(
      `dhcp-range=${d.subnet.network},proxy,${mask}`,
      '# PXE clients are told to boot the first entry at once (no prompt).',
      'pxe-prompt="Midwife network boot",0',
      `pxe-service=tag:!ipxe,x86PC,"ESXi installer (BIOS)",${f.bios},${d.tftpServer}`,
      // EFI BC (7) and EFI x86-64 (9): firmware sends either for x64.
      `pxe-service=tag:!ipxe,BC_EFI,"ESXi installer (UEFI)",${f.uefi},${d.tftpServer}`,
      `pxe-service=tag:!ipxe,x86-64_EFI,"ESXi installer (UEFI)",${f.uefi},${d.tftpServer}`,
      `pxe-service=tag:ipxe,x86PC,"Midwife iPXE menu",${d.ipxeScriptUrl}`,
      `pxe-service=tag:ipxe,BC_EFI,"Midwife iPXE menu",${d.ipxeScriptUrl}`,
      `pxe-service=tag:ipxe,x86-64_EFI,"Midwife iPXE menu",${d.ipxeScriptUrl}`,
    )
    warnings.push(
      "In proxy-DHCP mode dnsmasq cannot answer UEFI HTTP boot clients (they need the network's own DHCP server to send vendor class HTTPClient and the URL); such servers must use UEFI PXE.",
    )
  } else {
    lines.push(
      `dhcp-range=set:esxi,${d.subnet.rangeStart},${d.subnet.rangeEnd},${mask},${d.subnet.leaseSeconds}`,
    )
    if (d.subnet.router !== undefined)
      lines.push(`dhcp-option=tag:esxi,option:router,${d.subnet.router}`)
    if (d.subnet.dnsServers.length > 0) {
      lines.push(`dhcp-option=tag:esxi,option:dns-server,${d.subnet.dnsServers.join(',')}`)
    }
    lines.push(
      '',
      '# Client system architecture, option 93 (RFC 4578): 0 BIOS, 7 and 9 x64 UEFI, 16 x64 UEFI HTTP.',
      `dhcp-match=set:bios,option:client-arch,${CLIENT_ARCH.bios}`,
      `dhcp-match=set:efi64,option:client-arch,${CLIENT_ARCH.efiBc}`,
      `dhcp-match=set:efi64,option:client-arch,${CLIENT_ARCH.efiX64}`,
      `dhcp-match=set:efihttp,option:client-arch,${CLIENT_ARCH.httpX64}`,
      `dhcp-vendorclass=set:httpclient,${HTTP_CLIENT_CLASS}`,
      '',
      '# UEFI HTTP boot: echo vendor class HTTPClient (option 60) and hand out a URL.',
      `dhcp-option-force=tag:efihttp,tag:httpclient,option:vendor-class,${HTTP_CLIENT_CLASS}`,
      `dhcp-boot=tag:efihttp,tag:httpclient,${d.httpBootUrl}`,
      `dhcp-boot=tag:ipxe,${d.ipxeScriptUrl}`,
      `dhcp-boot=tag:bios,tag:!ipxe,${f.bios},,${d.tftpServer}`,
      `dhcp-boot=tag:efi64,tag:!ipxe,${f.uefi},,${d.tftpServer}`,
    )
  }
  return {
    flavour: 'dnsmasq',
    fileName: 'midwife-dnsmasq.conf',
    text: `${lines.join('\n')}\n`,
    warnings,
  }
}
