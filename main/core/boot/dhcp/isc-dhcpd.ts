// ISC dhcpd 4.x: one subnet block; an if/elsif chain so each client gets
// exactly one answer (iPXE first, since it also sends an architecture).
import {
  CLIENT_ARCH,
  HTTP_CLIENT_CLASS,
  IPXE_USER_CLASS,
  fullOnly,
  netmaskOf,
  parseDhcpInput,
  pxeFiles,
  type DhcpInput,
  type DhcpOutput,
} from './input'

/** Option 93 as two bytes, the way dhcpd compares data (`00:07`). */
const arch = (n: number) =>
  `${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`

export function iscDhcpdConfig(input: DhcpInput): DhcpOutput {
  const d = parseDhcpInput(input)
  fullOnly('ISC dhcpd', d)
  const f = pxeFiles(d)
  const s = d.subnet
  const lines = [
    '# Midwife: network boot for ESXi hosts (ISC dhcpd).',
    '# Check with: dhcpd -t -cf <this file>',
    '',
    '# Client system architecture, option 93 (RFC 4578): 0 BIOS, 7 and 9 x64 UEFI, 16 x64 UEFI HTTP.',
    'option midwife-client-arch code 93 = unsigned integer 16;',
    '',
    `subnet ${s.network} netmask ${netmaskOf(s.prefixLength)} {`,
    `  range ${s.rangeStart} ${s.rangeEnd};`,
    ...(s.router !== undefined ? [`  option routers ${s.router};`] : []),
    ...(s.dnsServers.length > 0
      ? [`  option domain-name-servers ${s.dnsServers.join(', ')};`]
      : []),
    `  default-lease-time ${s.leaseSeconds};`,
    `  max-lease-time ${s.leaseSeconds};`,
    `  next-server ${d.tftpServer};`,
    '',
    `  if exists user-class and option user-class = "${IPXE_USER_CLASS}" {`,
    `    filename "${d.ipxeScriptUrl}";`,
    `  } elsif option midwife-client-arch = ${arch(CLIENT_ARCH.httpX64)} and substring(option vendor-class-identifier, 0, ${HTTP_CLIENT_CLASS.length}) = "${HTTP_CLIENT_CLASS}" {`,
    '    # UEFI HTTP boot: the answer must carry vendor class HTTPClient.',
    `    option vendor-class-identifier "${HTTP_CLIENT_CLASS}";`,
    `    filename "${d.httpBootUrl}";`,
    `  } elsif option midwife-client-arch = ${arch(CLIENT_ARCH.efiBc)} or option midwife-client-arch = ${arch(CLIENT_ARCH.efiX64)} {`,
    `    filename "${f.uefi}";`,
    `  } elsif option midwife-client-arch = ${arch(CLIENT_ARCH.bios)} {`,
    `    filename "${f.bios}";`,
    '  }',
    '}',
  ]
  return {
    flavour: 'isc-dhcpd',
    fileName: 'midwife-dhcpd.conf',
    text: `${lines.join('\n')}\n`,
    warnings: [],
  }
}
