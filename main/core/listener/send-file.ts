// Streams a file from disk, whole or one byte range (RFC 9110 14), so a
// loader that resumes a large module, or fetches it in pieces, gets exactly
// the bytes it asked for. Several ranges in one request get the whole file,
// which RFC 9110 allows and every loader handles.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null

/**
 * The one range a `Range` header asks for within `size` bytes: null for none
 * (or one this server does not honour: another unit, several ranges, a
 * malformed header), 'unsatisfiable' when it lies past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  const [first, last] = [m[1] as string, m[2] as string]
  if (first === '') {
    // The last N bytes.
    const n = Number(last)
    if (n === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (last !== '' && Number(last) < start) return null
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}

/** Sends `file` (already resolved and allowed) as the answer to a GET or HEAD. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  contentType = 'application/octet-stream',
): Promise<void> {
  const { size, mtime } = await stat(file)
  const range = parseRange(req.headers.range, size)
  const headers: Record<string, string | number> = {
    'Content-Type': contentType,
    'Accept-Ranges': 'bytes',
    'Last-Modified': mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  }
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 })
    res.end()
    return
  }
  const part = range ?? { start: 0, end: size - 1 }
  const length = size === 0 ? 0 : part.end - part.start + 1
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': length,
    ...(range ? { 'Content-Range': `bytes ${part.start}-${part.end}/${size}` } : {}),
  })
  if (req.method === 'HEAD' || length === 0) {
    res.end()
    return
  }
  try {
    await pipeline(createReadStream(file, { start: part.start, end: part.end }), res)
  } catch {
    // The client went away mid-file (or the disk failed): the headers are
    // sent, so all that is left is to close the connection.
    res.destroy()
  }
}
