// Windows Server DHCP: classes and scope policies, in PowerShell (DhcpServer
// module). Policies match vendor class data by prefix when the condition
// ends in *; the PXE firmware sends PXEClient:Arch:0000N:UNDI:..., and UEFI
// HTTP boot HTTPClient:Arch:00016:....
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

const q = (s: string) => `'${s.replace(/'/g, "''")}'`
const archData = (prefix: string, n: number) => `${prefix}:Arch:${String(n).padStart(5, '0')}`

export function windowsDhcpScript(input: DhcpInput): DhcpOutput {
  const d = parseDhcpInput(input)
  fullOnly('Windows DHCP', d)
  const f = pxeFiles(d)
  const scope = d.subnet.network
  const classes = [
    { name: 'Midwife iPXE', type: 'User', data: IPXE_USER_CLASS },
    {
      name: 'Midwife UEFI HTTP',
      type: 'Vendor',
      data: archData(HTTP_CLIENT_CLASS, CLIENT_ARCH.httpX64),
    },
    {
      name: 'Midwife UEFI x64 (7)',
      type: 'Vendor',
      data: archData('PXEClient', CLIENT_ARCH.efiBc),
    },
    {
      name: 'Midwife UEFI x64 (9)',
      type: 'Vendor',
      data: archData('PXEClient', CLIENT_ARCH.efiX64),
    },
    { name: 'Midwife BIOS', type: 'Vendor', data: archData('PXEClient', CLIENT_ARCH.bios) },
  ]
  const policy = (order: number, name: string, condition: string, options: [number, string][]) => [
    `Add-DhcpServerv4Policy -ScopeId ${scope} -Name ${q(name)} -ProcessingOrder ${order} -Condition OR ${condition}`,
    ...options.map(
      ([id, value]) =>
        `Set-DhcpServerv4OptionValue -ScopeId ${scope} -PolicyName ${q(name)} -OptionId ${id} -Value ${q(value)}`,
    ),
  ]
  const lines = [
    '# Midwife: network boot for ESXi hosts (Windows Server DHCP).',
    `# Run in an elevated PowerShell on the DHCP server; scope ${scope} must exist.`,
    "$ErrorActionPreference = 'Stop'",
    '',
    '# Classes the policies match (client arch, option 93: 0 BIOS, 7 and 9 x64 UEFI, 16 x64 UEFI HTTP).',
    ...classes.map(
      (c) => `Add-DhcpServerv4Class -Name ${q(c.name)} -Type ${c.type} -Data ${q(c.data)}`,
    ),
    '',
    '# Option 60 is not predefined on Windows DHCP; UEFI HTTP boot needs it in the answer.',
    'if (-not (Get-DhcpServerv4OptionDefinition -OptionId 60 -ErrorAction SilentlyContinue)) {',
    "  Add-DhcpServerv4OptionDefinition -OptionId 60 -Name 'Vendor Class Identifier' -Type String",
    '}',
    '',
    '# iPXE first: it also sends an architecture, and must get the script, not another loader.',
    ...policy(1, 'Midwife iPXE', `-UserClass EQ,${q('Midwife iPXE')}`, [[67, d.ipxeScriptUrl]]),
    ...policy(2, 'Midwife UEFI HTTP', `-VendorClass EQ,${q('Midwife UEFI HTTP*')}`, [
      [60, HTTP_CLIENT_CLASS],
      [67, d.httpBootUrl],
    ]),
    ...policy(
      3,
      'Midwife UEFI PXE',
      `-VendorClass EQ,${q('Midwife UEFI x64 (7)*')},EQ,${q('Midwife UEFI x64 (9)*')}`,
      [
        [66, d.tftpServer],
        [67, f.uefi],
      ],
    ),
    ...policy(4, 'Midwife BIOS PXE', `-VendorClass EQ,${q('Midwife BIOS*')}`, [
      [66, d.tftpServer],
      [67, f.bios],
    ]),
  ]
  return {
    flavour: 'windows',
    fileName: 'midwife-windows-dhcp.ps1',
    text: `${lines.join('\n')}\n`,
    warnings: [],
  }
}
