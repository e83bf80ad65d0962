// The management move's upload, against a host in memory whose shell answers
// the upload line as a real one might: a notice on stdout before the path.
import { describe, expect, it } from 'vitest'
import { moveManagement, readManagement } from '../../main/core/configure/move-management'
import { memoryHost } from '../support/sim-shell'

describe('uploading the move script', () => {
  it('takes the temp path from the last line shaped like it, past a notice on stdout', async () => {
    const { shell } = memoryHost()
    const from = await readManagement(shell)
    const started: string[] = []
    const session = {
      close() {},
      exec(line: string) {
        if (line.includes('mktemp')) {
          const stdout = 'The time and date of this login have been sent to the system logs.\n'
          return Promise.resolve({
            code: 0,
            stdout: `${stdout}/tmp/midwife-mgmt.Ab12Cd\n`,
            stderr: '',
          })
        }
        if (line.includes('/tmp/midwife-mgmt.')) {
          started.push(line)
          return Promise.resolve({ code: 1, stdout: '', stderr: 'stopped by the test' })
        }
        return shell.exec(line)
      },
    }
    const moved = moveManagement({
      connect: () => Promise.reject(new Error('no second session in this test')),
      session,
      from,
      to: { ...from, address: '127.0.0.2' },
      deadlineMs: 1_000,
      out() {},
    })
    // The upload was taken; the move went on to start the script at that path.
    await expect(moved).rejects.toThrow('stopped by the test')
    expect(started).toEqual([
      `trap '' HUP; sh '/tmp/midwife-mgmt.Ab12Cd' > '/tmp/midwife-mgmt.Ab12Cd.log' 2>&1 < /dev/null &`,
    ])
  })
})
