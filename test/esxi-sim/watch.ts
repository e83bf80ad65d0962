import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'

/**
 * Calls onChange whenever the state file is replaced. saveState renames a new file over the old
 * one, so the folder is watched (a watch on the file itself would follow the replaced inode).
 * Returns the function that stops watching.
 */
export function watchState(statePath: string, onChange: () => void): () => void {
  const name = basename(statePath)
  const watcher = watch(dirname(statePath), (_event, file) => {
    if (file === name) onChange()
  })
  // The folder goes away when the host is removed; there is nothing left to follow then.
  watcher.on('error', () => watcher.close())
  return () => watcher.close()
}
