import type { DownloadFile } from '../../../main/contract/schemas'

/**
 * Saves a file the core made (a report, a CSV): a download in serve mode, the
 * save dialog Electron shows for a download in the desktop app.
 */
export function saveFile(file: DownloadFile): void {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(new Blob([file.content], { type: file.contentType }))
  link.download = file.filename
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}
