import type { BrowserWindow, Dialog, OpenDialogOptions } from 'electron'

/**
 * The native folder dialog, as App's `pickFolder`: modal to the window when there is one, able
 * to make a new folder, and null when the operator cancels.
 */
export function folderPicker(
  dialog: Pick<Dialog, 'showOpenDialog'>,
  window: () => BrowserWindow | undefined,
): (title: string) => Promise<string | null> {
  return async (title) => {
    const options: OpenDialogOptions = {
      title,
      buttonLabel: 'Choose',
      properties: ['openDirectory', 'createDirectory', 'promptToCreate'],
    }
    const win = window()
    const r =
      win && !win.isDestroyed()
        ? await dialog.showOpenDialog(win, options)
        : await dialog.showOpenDialog(options)
    return r.canceled ? null : (r.filePaths[0] ?? null)
  }
}
