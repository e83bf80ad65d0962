/**
 * Fills `{{name}}` placeholders. Strict both ways: a placeholder without a
 * value, or a value without a placeholder, is a bug in the caller or the
 * template, and throws rather than shipping a half-filled kickstart.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const used = new Set<string>()
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = values[name]
    if (v === undefined) throw new Error(`template placeholder {{${name}}} has no value`)
    used.add(name)
    return v
  })
  const unused = Object.keys(values).filter((k) => !used.has(k))
  if (unused.length > 0) throw new Error(`template has no placeholder for: ${unused.join(', ')}`)
  return out
}
