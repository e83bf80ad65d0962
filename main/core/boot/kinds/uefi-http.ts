// UEFI HTTP boot (ESXi 7.0U2+): DHCP answers vendor class HTTPClient with an
// http:// URL of mboot.efi; mboot then reads 01-<mac>/boot.cfg next to it,
// and the modules come from prefix= over HTTP. All of it is served by the
// listener, so disarming a host takes effect at its next boot.
import type { Artifact, BootContext, BootKind, KindResult } from '../input'
import {
  HTTP_PATHS,
  hostLabel,
  httpPaths,
  listenerBase,
  mediaFor,
  newestUefiMedia,
} from '../layout'
import { loaderArtifacts } from './uefi-pxe'
import { genericBootCfg, genericSecrets, hostBootCfg, hostSecrets, noMediaWarning } from './shared'

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
  const base = httpBootBase(c)
  const urlOf = (path: string) => `${base}${path}`
  const artifacts: Artifact[] = loaderArtifacts(
    ID,
    c,
    'http',
    { mbootEfi: httpPaths.mbootEfi, crypto64Efi: httpPaths.crypto64Efi },
    urlOf,
  )
  if (c.site.firmwareHttpsOnly && c.site.httpsBootBaseUrl === undefined) {
    warnings.push(
      'The firmware is set to HTTPS-only, but the site has no HTTPS boot URL; put a TLS front (with a certificate from a CA enrolled in the firmware) before the listener and set it under Site, or allow HTTP boot in the firmware.',
    )
  }
  const generic = genericBootCfg('UEFI HTTP boot.cfg', c, (m, v) => mediaPrefix(c, m.url, v))
  warnings.push(...generic.warnings)
  artifacts.push({
    kind: ID,
    scope: 'generic',
    title: 'UEFI HTTP boot.cfg for unknown servers',
    delivery: 'http',
    path: httpPaths.genericBootCfg,
    url: urlOf(httpPaths.genericBootCfg),
    text: generic.text,
    syntax: 'boot.cfg',
    secrets: genericSecrets(c),
  })
  const h = c.host
  if (h !== undefined) {
    const m = mediaFor(c, h.esxiVersion)
    if (m === undefined || !m.hasBootx64Efi) {
      warnings.push(noMediaWarning('UEFI HTTP boot', h))
    } else {
      const r = hostBootCfg('UEFI HTTP boot.cfg', c, h, m, mediaPrefix(c, m.url, h.esxiVersion))
      warnings.push(...r.warnings)
      const path = httpPaths.perMacBootCfg(h.mac)
      artifacts.push({
        kind: ID,
        scope: 'host',
        title: `boot.cfg for ${hostLabel(h)} (HTTP)`,
        delivery: 'http',
        path,
        url: urlOf(path),
        text: r.text,
        syntax: 'boot.cfg',
        secrets: hostSecrets(h),
      })
    }
  }
  return { artifacts, warnings }
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
