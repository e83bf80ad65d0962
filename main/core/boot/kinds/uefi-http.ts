// UEFI HTTP boot (ESXi 7.0U2+): DHCP answers vendor class HTTPClient with an
// http:// URL of mboot.efi; mboot then reads 01-<mac>/boot.cfg next to it,
// and the modules come from prefix= over HTTP. All of it is served by the
// listener, so disarming a host takes effect at its next boot.
import type { BootContext, BootKind, KindResult } from '../input'
import { HTTP_PATHS, httpPaths, listenerBase, newestUefiMedia } from '../layout'
import { loaderArtifacts, uefiBootCfgs } from './shared'

const ID = 'uefi-http'

/**
 * The base URL the firmware fetches from: the listener, or the site's HTTPS
 * front when the firmware refuses plain HTTP.
 */
export function httpBootBase(c: BootContext): string {
  if (c.site.firmwareHttpsOnly && c.site.httpsBootBaseUrl !== undefined) {
    return c.site.httpsBootBaseUrl
  }
  return listenerBase(c)
}

/** The DHCP boot file URL for HTTPClient / arch 16 clients. */
export function httpBootUrl(c: BootContext): string {
  return `${httpBootBase(c)}${httpPaths.mbootEfi}`
}

/** The media folder as the UEFI loader fetches it (the HTTPS front mirrors /media too). */
function mediaPrefix(c: BootContext, url: string, version: string): string {
  const base = httpBootBase(c)
  return base === listenerBase(c) ? url : `${base}${HTTP_PATHS.media}/${version}`
}

function render(c: BootContext): KindResult {
  const warnings: string[] = []
  const urlOf = (path: string) => `${httpBootBase(c)}${path}`
  if (c.site.firmwareHttpsOnly && c.site.httpsBootBaseUrl === undefined) {
    warnings.push(
      'The firmware is set to HTTPS-only, but the site has no HTTPS boot URL; put a TLS front (with a certificate from a CA enrolled in the firmware) before the listener and set it under Site, or allow HTTP boot in the firmware.',
    )
  }
  const loaders = loaderArtifacts(
    ID,
    c,
    'http',
    { mbootEfi: httpPaths.mbootEfi, crypto64Efi: httpPaths.crypto64Efi },
    urlOf,
  )
  const cfgs = uefiBootCfgs(c, {
    kind: ID,
    label: 'UEFI HTTP',
    delivery: 'http',
    genericPath: httpPaths.genericBootCfg,
    hostPath: httpPaths.perMacBootCfg,
    prefix: (m, v) => mediaPrefix(c, m.url, v),
    urlOf,
  })
  return { artifacts: [...loaders, ...cfgs.artifacts], warnings: [...warnings, ...cfgs.warnings] }
}

export const uefiHttp: BootKind = {
  id: ID,
  label: 'UEFI HTTP boot',
  firmware: 'uefi',
  description:
    'UEFI HTTP boot: DHCP matches vendor class HTTPClient (client arch 16) and answers vendor-class-identifier "HTTPClient" with the http:// URL of mboot.efi on the listener; mboot reads 01-<mac>/boot.cfg next to it and loads the installer over HTTP. ' +
    'HTTPS option: some firmware refuses plain http:// boot URLs, and for https:// it checks the server certificate against the CAs enrolled in the firmware (not the OS trust store), so a self-signed certificate fails unless its CA is enrolled. Set an HTTPS boot URL under Site for such firmware.',
  applies: (c) =>
    newestUefiMedia(c) !== undefined
      ? { applies: true }
      : { applies: false, reason: 'no media in the library has efi/boot/bootx64.efi' },
  render,
}
