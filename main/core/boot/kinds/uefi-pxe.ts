// UEFI PXE: the firmware fetches mboot.efi over TFTP. Started without -c,
// mboot reads <its dir>/01-<mac>/boot.cfg, falling back to <its dir>/boot.cfg
// (esx-boot mboot/config.c). prefix= defaults to the boot.cfg's own folder,
// so every boot.cfg here sets it to the installer's folder.
import type { BootContext, BootKind, KindResult } from '../input'
import { newestUefiMedia, tftpPaths } from '../layout'
import { loaderArtifacts, uefiBootCfgs } from './shared'

const ID = 'uefi-pxe'

function render(c: BootContext): KindResult {
  const cfgs = uefiBootCfgs(c, {
    kind: ID,
    label: 'UEFI PXE',
    delivery: 'tftp',
    genericPath: tftpPaths.genericBootCfg(c),
    hostPath: (mac) => tftpPaths.perMacBootCfg(c, mac),
    prefix: (m) => m.tftpDir,
  })
  const loaders = loaderArtifacts(ID, c, 'tftp', {
    mbootEfi: tftpPaths.mbootEfi(c),
    crypto64Efi: tftpPaths.crypto64Efi(c),
  })
  return { artifacts: [...loaders, ...cfgs.artifacts], warnings: cfgs.warnings }
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
