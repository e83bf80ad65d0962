export { dnsmasqConfig } from './dnsmasq'
export { iscDhcpdConfig } from './isc-dhcpd'
export { keaConfig } from './kea'
export { windowsDhcpScript } from './windows'
export {
  CLIENT_ARCH,
  DhcpInput,
  HTTP_CLIENT_CLASS,
  IPXE_USER_CLASS,
  dhcpBootTargets,
  type DhcpConfig,
  type DhcpOutput,
} from './input'
