// Names, MACs and addresses for a batch of new hosts: a name pattern with one
// range (esx{01..24}), MACs counted up from the first, and management
// addresses counted up from the first free one in its subnet.
import { bounds, ipv4Number, ipv4Text, splitPrefix } from '../../catalogue/values'

/** A batch is for a rack or a hall, not for a typo that says {1..100000}. */
export const MAX_GENERATED = 1000

/**
 * esx{01..24} -> esx01 ... esx24. Zero-padded to the width of a bound written
 * with a leading zero (as bash does); without a range, the one name. Throws a
 * readable Error for anything else.
 */
export function expandPattern(pattern: string): string[] {
  const ranges = pattern.match(/\{[^}]*\}/g) ?? []
  if (ranges.length === 0) {
    if (/[{}]/.test(pattern)) throw new Error(`${pattern}: a { without its } (write esx{01..24})`)
    return [pattern]
  }
  if (ranges.length > 1) throw new Error(`${pattern}: use one range, like esx{01..24}`)
  const m = /^(.*)\{(\d+)\.\.(\d+)\}(.*)$/.exec(pattern)
  if (!m) throw new Error(`${pattern}: a range is two whole numbers, like esx{01..24}`)
  const [, before = '', from = '', to = '', after = ''] = m
  const first = Number(from)
  const last = Number(to)
  if (last < first) throw new Error(`${pattern}: the range counts up, like {01..24}`)
  if (last - first + 1 > MAX_GENERATED) {
    throw new Error(
      `${pattern} makes ${last - first + 1} hosts; at most ${MAX_GENERATED} at a time`,
    )
  }
  const padded = (from.length > 1 && from.startsWith('0')) || (to.length > 1 && to.startsWith('0'))
  const width = padded ? Math.max(from.length, to.length) : 0
  const names: string[] = []
  for (let n = first; n <= last; n++)
    names.push(`${before}${String(n).padStart(width, '0')}${after}`)
  return names
}

/** The MAC `n` after `mac` (aa:bb:cc:dd:ee:ff form), or null past ff:ff:ff:ff:ff:ff. */
export function macPlus(mac: string, n: number): string | null {
  const value = BigInt(`0x${mac.replace(/:/g, '')}`) + BigInt(n)
  if (value > 0xffffffffffffn) return null
  return value
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:')
}

/**
 * Hands out addresses in the subnet of `first` (10.0.0.11/24), from `first`
 * up, skipping those in `used` and the subnet's network and broadcast
 * addresses. Returns address/prefix, or null when the subnet is full.
 */
export function addressAllocator(first: string, used: ReadonlySet<string>): () => string | null {
  const { address, prefix } = splitPrefix(first)
  const { network: net, broadcast } = bounds(address, prefix)
  let next = ipv4Number(address)
  const end = ipv4Number(broadcast)
  return () => {
    for (; next <= end; next++) {
      const a = ipv4Text(next)
      const reserved = prefix < 31 && (a === net || a === broadcast)
      if (!reserved && !used.has(a)) {
        next++
        return `${a}/${prefix}`
      }
    }
    return null
  }
}
