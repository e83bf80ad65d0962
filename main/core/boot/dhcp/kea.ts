// Kea DHCPv4: client classes with test expressions. Kea takes siaddr and the
// boot file from the first matching class that sets them, so the tests are
// made mutually exclusive rather than relying on order.
import {
  CLIENT_ARCH,
  HTTP_CLIENT_CLASS,
  IPXE_USER_CLASS,
  fullOnly,
  parseDhcpInput,
  pxeFiles,
  type DhcpInput,
  type DhcpOutput,
} from './input'

const archIs = (n: number) => `option[93].hex == 0x${n.toString(16).padStart(4, '0')}`

export function keaConfig(input: DhcpInput): DhcpOutput {
  const d = parseDhcpInput(input)
  fullOnly('Kea', d)
  const f = pxeFiles(d)
  const s = d.subnet
  const notIpxe = "not member('midwife-ipxe')"
  const optionData: { name: string; data: string }[] = []
  if (s.router !== undefined) optionData.push({ name: 'routers', data: s.router })
  if (s.dnsServers.length > 0) {
    optionData.push({ name: 'domain-name-servers', data: s.dnsServers.join(', ') })
  }
  const config = {
    Dhcp4: {
      'interfaces-config': { interfaces: ['*'] },
      'valid-lifetime': s.leaseSeconds,
      'client-classes': [
        {
          name: 'midwife-ipxe',
          test: `option[77].hex == '${IPXE_USER_CLASS}'`,
          'boot-file-name': d.ipxeScriptUrl,
        },
        {
          name: 'midwife-uefi-http',
          test: `${notIpxe} and ${archIs(CLIENT_ARCH.httpX64)} and substring(option[60].hex,0,${HTTP_CLIENT_CLASS.length}) == '${HTTP_CLIENT_CLASS}'`,
          // The answer must carry vendor class HTTPClient; the client does not ask for option 60.
          'option-data': [
            { name: 'vendor-class-identifier', data: HTTP_CLIENT_CLASS, 'always-send': true },
          ],
          'boot-file-name': d.httpBootUrl,
        },
        {
          name: 'midwife-uefi-pxe',
          test: `${notIpxe} and (${archIs(CLIENT_ARCH.efiBc)} or ${archIs(CLIENT_ARCH.efiX64)})`,
          'next-server': d.tftpServer,
          'boot-file-name': f.uefi,
        },
        {
          name: 'midwife-bios-pxe',
          test: `${notIpxe} and ${archIs(CLIENT_ARCH.bios)}`,
          'next-server': d.tftpServer,
          'boot-file-name': f.bios,
        },
      ],
      subnet4: [
        {
          subnet: `${s.network}/${s.prefixLength}`,
          pools: [{ pool: `${s.rangeStart} - ${s.rangeEnd}` }],
          ...(optionData.length > 0 ? { 'option-data': optionData } : {}),
        },
      ],
    },
  }
  return {
    flavour: 'kea',
    fileName: 'midwife-kea-dhcp4.json',
    text: `${JSON.stringify(config, null, 2)}\n`,
    warnings: [],
  }
}
