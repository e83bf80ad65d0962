// The site profile being edited. It outlives the Profile step, so an operator
// who steps back to Site, or over to Hosts, finds their unsaved edits again.
import type { Profile } from '../../../main/contract/schemas'
import { SpecDraft } from '../spec/spec-draft.svelte'
import { InstallDraft } from './install-draft.svelte'

export class ProfileEditor {
  /** The profile as last loaded or saved: what the edits are compared with. */
  stored: Profile | null = $state(null)
  draft: SpecDraft | null = $state(null)
  install: InstallDraft | null = $state(null)

  /** Starts over from a stored profile (after loading, or after saving). */
  start(p: Profile): void {
    this.stored = p
    this.draft = new SpecDraft('profile', p.spec, p.secretsSet)
    this.install = new InstallDraft(p.install)
  }
}
