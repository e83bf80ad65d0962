import type { DownloadFile } from '../../../main/contract/schemas'

/**
 * Saves text as a file from the page. The same in the desktop app and in
 * serve mode: a Blob link, which Electron's download handling and the
 * browser both save where the operator chooses.
 */
export function saveFile(file: Pick<DownloadFile, 'filename' | 'content' | 'contentType'>): void {
  const href = URL.createObjectURL(new Blob([file.content], { type: file.contentType }))
  download(href, file.filename)
  setTimeout(() => URL.revokeObjectURL(href), 1000)
}

/** Has the browser save what `href` answers; '' keeps the name the server gives it. */
export function download(href: string, filename = ''): void {
  const link = document.createElement('a')
  link.href = href
  link.download = filename
  document.body.append(link)
  link.click()
  link.remove()
}
