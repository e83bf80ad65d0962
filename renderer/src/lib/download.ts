import type { DownloadFile } from '../../../main/contract/schemas'

/**
 * Saves text as a file from the page. The same in the desktop app and in
 * serve mode: a Blob link, which Electron's download handling and the
 * browser both save where the operator chooses.
 */
export function saveFile(file: Pick<DownloadFile, 'filename' | 'content' | 'contentType'>): void {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(new Blob([file.content], { type: file.contentType }))
  link.download = file.filename
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 1000)
}
