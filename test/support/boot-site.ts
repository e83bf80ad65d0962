// One site and one host as the boot tests render them. The addresses are
// only text inside generated files: nothing here sends traffic anywhere.
import type {
  BootHost,
  BootInput,
  BootSite,
  EsxiVersion,
  MediaInfo,
} from '../../main/core/boot/input'
import { ISO_BOOT_CFG } from '../fixtures/esxi-media'

export const TOKEN = 'tok_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd'
export const PBKEY = 'enroll-Secret-0123456789'

export function media(v: EsxiVersion, over: Partial<MediaInfo> = {}): MediaInfo {
  return {
    url: `http://10.0.0.5:8080/media/${v}`,
    tftpDir: `esxi/${v}`,
    bootCfg: ISO_BOOT_CFG[v],
    hasMbootC32: true,
    hasBootx64Efi: true,
    hasCrypto64Efi: v === '9.0',
    ...over,
  }
}

export function site(over: Partial<BootSite> = {}): BootSite {
  return {
    listener: { address: '10.0.0.5', port: 8080 },
    media: { '7.0': media('7.0'), '8.0': media('8.0'), '9.0': media('9.0') },
    enrollment: {
      pbhost: '10.0.0.5:8080',
      pbkey: PBKEY,
      kickstartUrl: 'http://10.0.0.5:8080/ks/generic.cfg',
      installUnknown: false,
    },
    ...over,
  }
}

export function host(over: Partial<BootHost> = {}): BootHost {
  return {
    hostname: 'esx01',
    domain: 'lab.local',
    // Upper case and hyphens on purpose: every file name must come out lower case.
    mac: '00-50-56-AA-BB-01',
    token: TOKEN,
    armed: true,
    esxiVersion: '8.0',
    ...over,
  }
}

/** The scenarios the golden files cover, each a whole boot input. */
export const SCENARIOS: Record<string, BootInput> = {
  armed: { site: site(), host: host() },
  disarmed: { site: site(), host: host({ armed: false }) },
  'install-unknown': {
    site: site({ enrollment: { ...site().enrollment, installUnknown: true } }),
  },
  'https-only': {
    site: site({ firmwareHttpsOnly: true, httpsBootBaseUrl: 'https://boot.lab.local' }),
    host: host(),
  },
  'static-iso': {
    site: site(),
    host: host({
      esxiVersion: '7.0',
      installerNetwork: {
        ip: '10.0.20.11',
        netmask: '255.255.255.0',
        gateway: '10.0.20.1',
        nameserver: '10.0.0.2',
        vlanId: 20,
      },
    }),
  },
}
