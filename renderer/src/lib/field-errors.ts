// The API refuses a save with one message naming every bad field as
// "path: what is wrong", joined by "; " (describeIssues in the contract).
// A form shows each part next to its field instead of as one sentence.

export interface FieldErrors {
  /** By field path relative to `prefix`, like "media.8.0" or "dhcp.subnet". */
  byField: Record<string, string>
  /** What names no field this form has: shown above the form. */
  rest: string[]
}

/**
 * The field a part is about and its words: the field's whole path first, then a list field
 * followed by an entry's index ("dhcp.dnsServers.1: ..." is about "dhcp.dnsServers").
 */
function placed(part: string, prefix: string, known: readonly string[]): [string, string] | null {
  const whole = known.find((k) => part.startsWith(`${prefix}${k}: `))
  if (whole !== undefined) return [whole, part.slice(prefix.length + whole.length + 2)]
  for (const k of known) {
    const m = /^\.\d+: /.exec(part.slice(prefix.length + k.length))
    if (part.startsWith(`${prefix}${k}`) && m) {
      return [k, part.slice(prefix.length + k.length + m[0].length)]
    }
  }
  return null
}

/**
 * Splits an API error into the fields of a form whose values sit under
 * `prefix` (like "boot."); `known` lists the form's field paths.
 */
export function fieldErrors(
  message: string,
  prefix: string,
  known: readonly string[],
): FieldErrors {
  const byField: Record<string, string> = {}
  const rest: string[] = []
  // A part starts where a known path does, so a "; " inside a message does not split it.
  const starts = known.map((k) => `${prefix}${k}: `)
  const parts: string[] = []
  // A refusal of a method's first argument may lead with its index: "0.listenerPort: ...".
  for (const piece of message.split('; ').map((p) => p.replace(/^\d+\.(?=[A-Za-z])/, ''))) {
    const last = parts.length - 1
    if (last >= 0 && !starts.some((s) => piece.startsWith(s)) && !/^[\w.]+: /.test(piece))
      parts[last] = `${parts[last]}; ${piece}`
    else parts.push(piece)
  }
  for (const part of parts) {
    const found = placed(part, prefix, known)
    if (found === null) rest.push(part)
    else {
      const [field, text] = found
      byField[field] = byField[field] ? `${byField[field]} ${text}` : text
    }
  }
  return { byField, rest }
}
