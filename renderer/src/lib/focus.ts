/** Moves focus to the first field marked invalid inside `root`, so the operator starts there. */
export function focusFirstError(root: HTMLElement | null | undefined): boolean {
  const el = root?.querySelector<HTMLElement>('[aria-invalid="true"]')
  if (!el) return false
  el.scrollIntoView({ block: 'center' })
  el.focus({ preventScroll: true })
  return true
}
