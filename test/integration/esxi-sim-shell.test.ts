// Command lines with shell syntax over the ssh2 simulator run under real BusyBox ash, with only
// the host's bin folder on PATH; simple esxcli lines keep the in-process path. Both reach the
// same host and the same command log.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeSSH } from 'node-ssh'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { createSimHost, type SimHost } from '../support/esxi-host'

const PASSWORD = 'VMware1!'
let esx: SimHost
let server: SimSshServer
let work: string
const clients: NodeSSH[] = []

async function login(): Promise<NodeSSH> {
  const ssh = new NodeSSH()
  clients.push(ssh)
  await ssh.connect({
    host: server.host,
    port: server.port,
    username: 'root',
    password: PASSWORD,
    tryKeyboard: true,
  })
  // A dropped connection reports ECONNRESET; a client must listen for it or the process dies.
  ssh.connection?.on('error', () => undefined)
  return ssh
}

/** Closes a session and waits until the server has seen it go. */
async function logout(ssh: NodeSSH): Promise<void> {
  const before = server.connections()
  ssh.dispose()
  while (server.connections() >= before) await new Promise((r) => setTimeout(r, 20))
}

/** Running, as opposed to gone or a zombie nobody has reaped yet. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

async function until(what: () => boolean): Promise<void> {
  while (!what()) await new Promise((r) => setTimeout(r, 25))
}

beforeAll(async () => {
  esx = await createSimHost()
  server = await esx.startSsh(PASSWORD)
})

afterAll(async () => {
  for (const c of clients) c.dispose()
  await esx?.close()
})

afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

const workDir = () => {
  work = mkdtempSync(join(tmpdir(), 'midwife-sim-shell-'))
  return work
}

describe('shell syntax over the ssh2 simulator', () => {
  it('runs redirections, lists, pipes and quotes in BusyBox ash, reaching the same host', async () => {
    const ssh = await login()
    const dir = workDir()
    const r = await ssh.execCommand(
      `esxcli system hostname set --host=esx01 && esxcli system hostname get | grep 'Host Name' | cut -d: -f2 > ${dir}/name; ` +
        `printf '%s|%s\\n' "a b" 'c"d' >> ${dir}/name; false || echo "fell through"; exit 7`,
      { noTrim: true },
    )
    expect(r).toMatchObject({ code: 7, stdout: 'fell through\n', stderr: '' })
    expect(readFileSync(join(dir, 'name'), 'utf8')).toBe(' esx01\na b|c"d\n')
    const s = esx.state()
    expect(s.hostname).toBe('esx01')
    expect(s.log.slice(-2)).toEqual([
      'esxcli system hostname set --host=esx01',
      'esxcli system hostname get',
    ])
    expect(s.execLog.at(-1)).toEqual({
      address: '127.0.0.1',
      line: expect.stringMatching(/^esxcli system hostname set --host=esx01 && /) as unknown,
    })
  })

  it('writes a file with a here-document or printf, then runs it with sh', async () => {
    const ssh = await login()
    const dir = workDir()
    const script = `${dir}/x.sh`
    const heredoc = await ssh.execCommand(
      `sed -n p > ${script} <<'EOF'\nn=$(esxcli network ip dns server list | sed 's/.*: //')\necho "dns=[$n] arg=$1"\nEOF`,
    )
    expect(heredoc.code).toBe(0)
    expect(await ssh.execCommand(`sh ${script} 'one two'`)).toMatchObject({
      code: 0,
      stdout: 'dns=[] arg=one two',
    })
    await ssh.execCommand(`printf '%s\\n' 'echo "it'"'"'s $((6 * 7))"' > ${script}`)
    expect((await ssh.execCommand(`sh ${script}`)).stdout).toBe("it's 42")
  })

  it('feeds the channel’s stdin to the command', async () => {
    const ssh = await login()
    const dir = workDir()
    const r = await ssh.execCommand(`sed -n p > ${dir}/in.txt && sed -n '$=' ${dir}/in.txt`, {
      stdin: 'line 1\nline 2\n',
    })
    expect(r).toMatchObject({ code: 0, stdout: '2' })
    expect(readFileSync(join(dir, 'in.txt'), 'utf8')).toBe('line 1\nline 2\n')
  })

  it('offers only what an ESXi shell has', async () => {
    const ssh = await login()
    expect(await ssh.execCommand('cat /etc/hostname; echo rc=$?')).toMatchObject({
      stdout: 'rc=127',
      stderr: 'sh: cat: not found',
    })
    const found = await ssh.execCommand(
      'for c in esxcli vim-cmd vsish esxcfg-route vmkping vmware sed awk curl bash nohup setsid; do command -v $c >/dev/null && echo $c; done',
    )
    expect(found.stdout.split('\n')).toEqual([
      'esxcli',
      'vim-cmd',
      'vsish',
      'esxcfg-route',
      'vmkping',
      'vmware',
      'sed',
      'awk',
    ])
  })

  it('a background job with its output redirected survives the session, if it ignores SIGHUP', async () => {
    const dir = workDir()
    const go = join(dir, 'go')
    const job = (name: string, trap: string) =>
      `printf '%s\\n' "${trap}" 'echo $$ > ${dir}/${name}.pid' 'while [ ! -s ${go} ]; do sleep 1; done' 'esxcli system hostname set --host=${name}' > ${dir}/${name}.sh && ` +
      `sh ${dir}/${name}.sh > ${dir}/${name}.log 2>&1 < /dev/null &`
    const ssh = await login()
    expect((await ssh.execCommand(job('trapped', "trap '' HUP"))).code).toBe(0)
    expect((await ssh.execCommand(job('plain', ':'))).code).toBe(0)
    await until(() => existsSync(join(dir, 'plain.pid')) && existsSync(join(dir, 'trapped.pid')))
    const plain = Number(readFileSync(join(dir, 'plain.pid'), 'utf8'))
    const trapped = Number(readFileSync(join(dir, 'trapped.pid'), 'utf8'))

    // The session ends: the connection's shells and their jobs get SIGHUP (quirk 'HUP').
    await logout(ssh)
    await until(() => !alive(plain))
    expect(alive(trapped)).toBe(true)
    writeFileSync(go, 'go\n')
    await until(() => esx.state().hostname === 'trapped')
    await until(() => !alive(trapped))
  })

  it('a host command run by a job that ignores SIGHUP keeps ignoring it, mid-command', async () => {
    esx.update((s) => (s.faults = [{ match: 'esxcli system ntp get', delayMs: 1500 }]))
    try {
      const dir = workDir()
      const ssh = await login()
      await ssh.execCommand(
        `printf '%s\\n' "trap '' HUP" 'esxcli system ntp get; echo "rc=$?" > ${dir}/rc' > ${dir}/j.sh && sh ${dir}/j.sh >/dev/null 2>&1 </dev/null &`,
      )
      // The session closes while the command is still under way.
      await until(() => esx.state().log.at(-1) === 'esxcli system ntp get')
      await logout(ssh)
      await until(() => existsSync(join(dir, 'rc')) && readFileSync(join(dir, 'rc'), 'utf8') !== '')
      expect(readFileSync(join(dir, 'rc'), 'utf8')).toBe('rc=0\n')
    } finally {
      esx.update((s) => (s.faults = []))
    }
  })

  it('with sessionCloseSignal none, a job that does not trap SIGHUP survives too', async () => {
    esx.update((s) => (s.quirks.sessionCloseSignal = 'none'))
    try {
      const dir = workDir()
      const ssh = await login()
      await ssh.execCommand(
        `printf '%s\\n' 'while [ ! -s ${dir}/go ]; do sleep 1; done' 'esxcli system hostname set --host=nohup-free' > ${dir}/j.sh && sh ${dir}/j.sh >/dev/null 2>&1 </dev/null &`,
      )
      await logout(ssh)
      writeFileSync(join(dir, 'go'), 'go\n')
      await until(() => esx.state().hostname === 'nohup-free')
    } finally {
      esx.update((s) => (s.quirks.sessionCloseSignal = 'HUP'))
    }
  })

  it('nohup and setsid exist only when the quirk says so; nohup then shields a job', async () => {
    const ssh = await login()
    expect((await ssh.execCommand('command -v nohup || command -v setsid')).code).toBe(127)
    esx.update((s) => (s.quirks.nohupSetsid = 'present'))
    try {
      expect((await ssh.execCommand('command -v nohup && command -v setsid')).code).toBe(0)
      const dir = workDir()
      await ssh.execCommand(
        `printf '%s\\n' 'echo $$ > ${dir}/n.pid' 'while [ ! -s ${dir}/go ]; do sleep 1; done' 'esxcli system hostname set --host=shielded' > ${dir}/n.sh && nohup sh ${dir}/n.sh >/dev/null 2>&1 </dev/null &`,
      )
      await until(() => existsSync(join(dir, 'n.pid')))
      await logout(ssh)
      writeFileSync(join(dir, 'go'), 'go\n')
      await until(() => esx.state().hostname === 'shielded')
    } finally {
      esx.update((s) => (s.quirks.nohupSetsid = 'absent'))
    }
  })

  it('without vmkping (quirk), neither the shell nor a simple line finds it', async () => {
    esx.update((s) => (s.quirks.vmkping = 'absent'))
    try {
      const ssh = await login()
      expect((await ssh.execCommand('command -v vmkping')).code).toBe(127)
      expect(await ssh.execCommand('vmkping -I vmk0 -c 1 127.0.0.1')).toMatchObject({
        code: 127,
        stderr: 'sh: vmkping: not found',
      })
      expect(await ssh.execCommand('vmkping -c 1 127.0.0.1 2>&1; echo rc=$?')).toMatchObject({
        stdout: 'sh: vmkping: not found\nrc=127',
      })
    } finally {
      esx.update((s) => (s.quirks.vmkping = 'present'))
    }
    const ssh = await login()
    expect((await ssh.execCommand('vmkping -c 1 127.0.0.1 | sed -n 2p')).stdout).toBe(
      '64 bytes from 127.0.0.1: icmp_seq=0 ttl=64 time=0.102 ms',
    )
  })

  it('without sleep (quirk), the shell does not find it', async () => {
    esx.update((s) => (s.quirks.sleep = 'absent'))
    try {
      const ssh = await login()
      expect(await ssh.execCommand('sleep 1; echo rc=$?')).toMatchObject({
        stdout: 'rc=127',
        stderr: 'sh: sleep: not found',
      })
    } finally {
      esx.update((s) => (s.quirks.sleep = 'present'))
    }
    const ssh = await login()
    expect((await ssh.execCommand('sleep 0; echo rc=$?')).stdout).toBe('rc=0')
  })

  it('logs every line a session ran, and every host command, so a read-only rerun shows no writes', async () => {
    const ssh = await login()
    await ssh.execCommand('esxcli network ip dns server add --server=127.0.0.53')
    const mark = esx.logMark()
    const lines = esx.state().execLog.length
    await ssh.execCommand('esxcli network ip dns server list')
    await ssh.execCommand('esxcli system hostname get | grep Host; esxcfg-route')
    // The init scripts live outside PATH: a simple line reaches them, BusyBox does not.
    expect(await ssh.execCommand('/etc/init.d/SSH status')).toMatchObject({
      code: 0,
      stdout: 'SSH is running',
    })
    expect((await ssh.execCommand('/etc/init.d/SSH status; echo rc=$?')).stdout).toBe('rc=127')
    expect(esx.writesSince(mark)).toEqual([])
    expect(esx.state().log.slice(mark)).toEqual([
      'esxcli network ip dns server list',
      'esxcli system hostname get',
      'esxcfg-route',
      '/etc/init.d/SSH status',
    ])
    expect(
      esx
        .state()
        .execLog.slice(lines)
        .map((e) => e.line),
    ).toEqual([
      'esxcli network ip dns server list',
      'esxcli system hostname get | grep Host; esxcfg-route',
      '/etc/init.d/SSH status',
      '/etc/init.d/SSH status; echo rc=$?',
    ])
    await ssh.execCommand('esxcfg-route 127.0.0.254')
    expect(esx.writesSince(mark)).toEqual(['esxcfg-route 127.0.0.254'])
  })
})
