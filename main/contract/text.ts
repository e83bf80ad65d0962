// Text that came from outside (a host's report, a request, an operator's
// input quoted back) made safe to show: shared by the log, the listener's
// stored reports and the API's error messages.

// C0 (with \n \r \t), DEL, C1 (with NEL), the Unicode line and paragraph
// separators, the bidi overrides, isolates and marks that can make a terminal
// or a page show text in another order than it was written, and the
// zero-width characters that make two different strings look the same.
const CONTROL =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/
const CONTROLS = new RegExp(CONTROL.source, 'g')
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

/**
 * Shows control characters as visible escapes (\n, \x1b, \u2028), so text a
 * host reported or a client requested can never start a line of its own in a
 * log. Idempotent: its output holds no control character.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0)
    return NAMED[c] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`)
  })
}

export function hasControl(text: string): boolean {
  return CONTROL.test(text)
}
