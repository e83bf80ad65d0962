// UEFI PXE: the firmware fetches mboot.efi over TFTP. Started without -c,
// mboot reads <its dir>/01-<mac>/boot.cfg, falling back to <its dir>/boot.cfg
// (esx-boot mboot/config.c). prefix= defaults to the boot.cfg's own folder,
// so every boot.cfg here sets it to the installer's folder.
import type { BootContext, BootKind, KindResult, Artifact } from '../input'
import { hostLabel, mediaFor, newestUefiMedia, tftpPaths } from '../layout'
import { genericBootCfg, genericSecrets, hostBootCfg, hostSecrets, noMediaWarning } from './shared'

const ID = 'uefi-pxe'

/** mboot.efi and crypto64.efi, from the newest media that has a UEFI loader. */
export function loaderArtifacts(
  kind: string,
  c: BootContext,
  delivery: 'tftp' | 'http',
  paths: { mbootEfi: string; crypto64Efi: string },
  urlOf?: (path: string) => string,
): Artifact[] {
  const v = newestUefiMedia(c)
  const m = v === undefined ? undefined : mediaFor(c, v)
  if (v === undefined || m === undefined) return []
  const at = (path: string) => (urlOf === undefined ? {} : { url: urlOf(path) })
  const out: Artifact[] = [
    {
      kind,
      scope: 'generic',
      title: `mboot.efi (from the ESXi ${v} media)`,
      delivery,
      path: paths.mbootEfi,
      ...at(paths.mbootEfi),
      media: { version: v, file: 'efi/boot/bootx64.efi' },
    },
  ]
  if (m.hasCrypto64Efi) {
    out.push({
      kind,
      scope: 'generic',
      title: `crypto64.efi (from the ESXi ${v} media)`,
      delivery,
      path: paths.crypto64Efi,
      ...at(paths.crypto64Efi),
      media: { version: v, file: 'efi/boot/crypto64.efi' },
    })
  }
  return out
}

function render(c: BootContext): KindResult {
  const warnings: string[] = []
  const artifacts: Artifact[] = loaderArtifacts(ID, c, 'tftp', {
    mbootEfi: tftpPaths.mbootEfi(c),
    crypto64Efi: tftpPaths.crypto64Efi(c),
  })
  const generic = genericBootCfg('UEFI PXE boot.cfg', c, (m) => m.tftpDir)
  warnings.push(...generic.warnings)
  artifacts.push({
    kind: ID,
    scope: 'generic',
    title: 'UEFI PXE boot.cfg for unknown servers',
    delivery: 'tftp',
    path: tftpPaths.genericBootCfg(c),
    text: generic.text,
    syntax: 'boot.cfg',
    secrets: genericSecrets(c),
  })
  const h = c.host
  if (h !== undefined) {
    const m = mediaFor(c, h.esxiVersion)
    if (m === undefined || !m.hasBootx64Efi) {
      warnings.push(noMediaWarning('UEFI PXE', h))
    } else {
      const r = hostBootCfg('UEFI PXE boot.cfg', c, h, m, m.tftpDir)
      warnings.push(...r.warnings)
      artifacts.push({
        kind: ID,
        scope: 'host',
        title: `UEFI PXE boot.cfg for ${hostLabel(h)}`,
        delivery: 'tftp',
        path: tftpPaths.perMacBootCfg(c, h.mac),
        text: r.text,
        syntax: 'boot.cfg',
        secrets: hostSecrets(h),
      })
    }
  }
  return { artifacts, warnings }
}

export const uefiPxe: BootKind = {
  id: ID,
  label: 'UEFI PXE',
  firmware: 'uefi',
  description:
    "UEFI PXE over TFTP: DHCP hands out <dir>/mboot.efi (the newest media's bootx64.efi, with crypto64.efi beside it when the media has one). mboot, started without -c, reads <dir>/01-<mac>/boot.cfg (lower-case), whose prefix= points at the installer folder; servers without one get <dir>/boot.cfg.",
  applies: (c) =>
    newestUefiMedia(c) !== undefined
      ? { applies: true }
      : { applies: false, reason: 'no media in the library has efi/boot/bootx64.efi' },
  render,
}
