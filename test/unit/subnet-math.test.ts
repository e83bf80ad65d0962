// Subnet arithmetic in values.ts, checked against ipaddr.js on many random
// addresses and every prefix length.
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import {
  gatewayProblem,
  inSubnet,
  ipv4Prefix,
  splitPrefix,
  subnetOf,
} from '../../main/catalogue/values'

// A fixed-seed generator, so a failure can be replayed.
let seed = 42
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed
}
const address = () => [0, 0, 0, 0].map(() => rand() % 256).join('.')

describe('subnet arithmetic', () => {
  it('agrees with ipaddr.js on network, netmask, broadcast and membership', () => {
    for (let i = 0; i < 3000; i++) {
      const prefix = 1 + (rand() % 32)
      const cidr = `${address()}/${prefix}`
      const other = address()
      expect(subnetOf(cidr)).toBe(
        `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`,
      )
      expect(splitPrefix(cidr).netmask).toBe(
        ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString(),
      )
      const [net, bits] = ipaddr.IPv4.parseCIDR(cidr)
      expect(inSubnet(other, cidr)).toBe(ipaddr.IPv4.parse(other).match(net, bits))
      const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()
      if (prefix < 31 && inSubnet(broadcast, cidr)) {
        expect(gatewayProblem(broadcast, cidr) ?? '').toMatch(/broadcast address|address itself/)
      }
    }
  })

  it('refuses a network or broadcast address as a host address, and says which', () => {
    expect(ipv4Prefix.safeParse('10.0.0.0/24').error?.issues[0]?.message).toBe(
      '10.0.0.0 is the network address of 10.0.0.0/24, not a host address',
    )
    expect(ipv4Prefix.safeParse('10.0.1.255/23').error?.issues[0]?.message).toBe(
      '10.0.1.255 is the broadcast address of 10.0.0.0/23, not a host address',
    )
    expect(ipv4Prefix.parse('10.0.1.255/22')).toBe('10.0.1.255/22')
    expect(ipv4Prefix.parse('10.0.0.0/31')).toBe('10.0.0.0/31')
    expect(inSubnet('255.255.255.255', '0.0.0.1/1')).toBe(false)
    expect(inSubnet('10.0.0.1', 'not-a-cidr')).toBe(false)
  })
})
