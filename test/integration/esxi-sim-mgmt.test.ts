// The in-band management address change, as esxi.md describes the only pattern that works:
// upload a script that sets the new address and default route, checks the gateway answers, and
// rolls back after a deadline unless confirmed; start it detached; reconnect at the new address
// (same host key); confirm; read back. The simulated sshd drops every session when vmk0's address
// changes and answers only at the new address. Proved against the ssh2 simulator on every
// release, and against a real OpenSSH server whose login shell is BusyBox.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { NodeSSH } from 'node-ssh'
import type ssh2 from 'ssh2'
import { afterEach, describe, expect, it } from 'vitest'
import { managementAddress } from '../esxi-sim/net'
import { ESXI_PROFILES, type EsxiProfile } from '../esxi-sim/profile'
import type { SimOverrides } from '../esxi-sim/state'
import { createSimHost, managementNetwork, type SimHost } from '../support/esxi-host'
import { ESX_USER, startOpenSsh } from '../support/openssh'

interface Net {
  ip: string
  mask: string
  gw: string
}
const OLD: Net = { ip: '127.0.10.10', mask: '255.255.255.0', gw: '127.0.10.1' }
const NEW: Net = { ip: '127.0.20.10', mask: '255.255.255.0', gw: '127.0.20.1' }
const PASSWORD = 'VMware1!'

/** Whichever sshd stands in for the host's. */
interface Sshd {
  user: string
  password: string
  port: number
  waitForAddress(address: string | null): Promise<void>
}

interface Session {
  ssh: NodeSSH
  /** SHA256 fingerprint of the host key presented. */
  hostKey: string
  /** Resolves when the connection is gone, with the error it ended on, if any. */
  closed: Promise<Error | undefined>
  run(line: string): Promise<{ stdout: string; stderr: string; code: number | null }>
}

const hosts: SimHost[] = []
const stops: Array<() => Promise<void>> = []
const files: string[] = []

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
  for (const h of hosts.splice(0)) await h.close()
  for (const f of files.splice(0)) rmSync(f, { force: true })
})

const fingerprint = (blob: Buffer) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`

function trustedKeys(esx: SimHost): string[] {
  return [esx.hostKeys.rsa, esx.hostKeys.ecdsa].map((k) =>
    fingerprint(Buffer.from(k.publicLine.split(' ')[1] ?? '', 'base64')),
  )
}

async function connect(
  esx: SimHost,
  sshd: Sshd,
  address: string,
  extra: Record<string, unknown> = {},
): Promise<Session> {
  const ssh = new NodeSSH()
  let hostKey = ''
  await ssh.connect({
    host: address,
    port: sshd.port,
    username: sshd.user,
    password: sshd.password,
    tryKeyboard: true,
    readyTimeout: 10_000,
    // The host is pinned: the same keys before and after the move, or no login.
    hostVerifier: (key: Buffer) => {
      hostKey = fingerprint(key)
      return trustedKeys(esx).includes(hostKey)
    },
    ...extra,
  })
  const conn = ssh.connection as ssh2.Client
  let error: Error | undefined
  conn.on('error', (err) => (error = err))
  const closed = new Promise<Error | undefined>((resolve) =>
    conn.once('close', () => resolve(error)),
  )
  stops.push(() => Promise.resolve(ssh.dispose()))
  return {
    ssh,
    hostKey,
    closed,
    run: (line) => ssh.execCommand(line, { noTrim: true }),
  }
}

const refused = (err: unknown) =>
  (err as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(err))
// The sshd may move while a login is under way: that login is reset, and the next one is tried.
const retryable = (err: unknown) => refused(err) || /ECONNRESET/.test(String(err))

/** What a product does after the drop: try the address until the host answers there. */
async function connectWhenUp(esx: SimHost, sshd: Sshd, address: string): Promise<Session> {
  for (;;) {
    try {
      return await connect(esx, sshd, address)
    } catch (err) {
      if (!retryable(err)) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

async function expectRefused(esx: SimHost, sshd: Sshd, address: string): Promise<void> {
  const err = await connect(esx, sshd, address).then(
    () => new Error(`${address} answered`),
    (e: unknown) => e,
  )
  expect(refused(err), String(err)).toBe(true)
}

/** The script a product uploads: BusyBox ash and ESXi's applets only (no cat, no rm). */
function changeScript(p: { from: Net; to: Net; confirm: string; deadline: number }): string {
  // The first sleep lets the session that started the script hear its exit status before the
  // address it is connected to goes away.
  return `trap '' HUP
sleep 1
old_ip=${p.from.ip} old_mask=${p.from.mask} old_gw=${p.from.gw}
new_ip=${p.to.ip} new_mask=${p.to.mask} new_gw=${p.to.gw}
say() { echo "midwife-mgmt: $*"; }
rollback() {
  say "rolling back: $1"
  esxcli network ip interface ipv4 set -i vmk0 -t static -I "$old_ip" -N "$old_mask"
  esxcfg-route "$old_gw"
  say "rolled back"
  exit 1
}
out=$(esxcli network ip interface ipv4 set -i vmk0 -t static -I "$new_ip" -N "$new_mask" 2>&1) || rollback "$out"
out=$(esxcli network ip route ipv4 add --gateway "$new_gw" --network default 2>&1) || rollback "$out"
if command -v vmkping >/dev/null 2>&1; then
  vmkping -I vmk0 -c 3 -W 1 "$new_gw" >/dev/null 2>&1 || rollback "gateway $new_gw does not answer"
fi
say "applied; waiting for confirmation"
i=0
while [ "$i" -lt ${p.deadline} ]; do
  if [ -s ${p.confirm} ]; then say confirmed; exit 0; fi
  sleep 1
  i=$((i + 1))
done
rollback "no confirmation within ${p.deadline}s"
`
}

interface Change {
  script: string
  log: string
  confirm: string
}

/** Uploads the script with a here-document and starts it detached, as esxi.md shows. */
async function startChange(s: Session, to: Net, deadline: number): Promise<Change> {
  const base = `/tmp/midwife-mgmt-${randomBytes(6).toString('hex')}`
  const c = { script: `${base}.sh`, log: `${base}.log`, confirm: `${base}.confirm` }
  files.push(c.script, c.log, c.confirm)
  const body = changeScript({ from: OLD, to, confirm: c.confirm, deadline })
  const upload = await s.run(`sed -n p > ${c.script} <<'MIDWIFE_EOF'\n${body}MIDWIFE_EOF`)
  expect(upload.code).toBe(0)
  const start = await s.run(`sh ${c.script} > ${c.log} 2>&1 < /dev/null &`)
  expect(start).toEqual({ code: 0, signal: null, stdout: '', stderr: '' })
  return c
}

/** Reads the script's log over a session until it holds the text. */
async function logOnceItSays(s: Session, c: Change, text: string): Promise<string> {
  for (;;) {
    const log = (await s.run(`sed -n p ${c.log}`)).stdout
    if (log.includes(text)) return log
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function simHost(overrides: SimOverrides = {}): Promise<SimHost> {
  const esx = await createSimHost({
    ...managementNetwork(OLD.ip, OLD.mask, OLD.gw),
    reachable: [OLD.gw, NEW.gw],
    ...overrides,
  })
  hosts.push(esx)
  return esx
}

async function ssh2Sshd(esx: SimHost): Promise<Sshd> {
  const server = await esx.startSsh(PASSWORD)
  stops.push(() => server.close())
  return {
    user: 'root',
    password: PASSWORD,
    port: server.port,
    waitForAddress: (a) => server.waitForAddress(a),
  }
}

async function openSshd(esx: SimHost): Promise<Sshd> {
  const sshd = await startOpenSsh(esx)
  stops.push(() => sshd.stop())
  return {
    user: ESX_USER,
    password: sshd.password,
    port: sshd.port,
    waitForAddress: (a) => sshd.waitForAddress(a),
  }
}

/** The scenario the product must pass: change, drop, reconnect at the new address, confirm. */
async function confirmedChange(esx: SimHost, sshd: Sshd): Promise<void> {
  const before = await connect(esx, sshd, OLD.ip)
  const change = await startChange(before, NEW, 60)

  // The script's address change drops the session at once...
  await before.closed
  // ...and from then on the host answers only at its new address.
  await sshd.waitForAddress(NEW.ip)
  await expectRefused(esx, sshd, OLD.ip)
  const after = await connectWhenUp(esx, sshd, NEW.ip)
  expect(after.hostKey).toBe(before.hostKey)

  // The script outlived the session that started it; it waits for the confirmation.
  await logOnceItSays(after, change, 'waiting for confirmation')
  expect((await after.run(`printf ok > ${change.confirm}`)).code).toBe(0)
  const log = await logOnceItSays(after, change, 'midwife-mgmt: confirmed')
  expect(log).not.toContain('rolling back')

  // Read everything back at the new address.
  expect((await after.run('esxcli network ip interface ipv4 get -i vmk0')).stdout).toContain(
    `vmk0  ${NEW.ip}   ${NEW.mask}  127.0.20.255    STATIC`,
  )
  expect((await after.run('esxcfg-route')).stdout).toBe(`VMkernel default gateway is ${NEW.gw}\n`)
  const s = esx.state()
  expect(managementAddress(s)).toBe(NEW.ip)
  expect(s.log).toContain(`esxcli network ip route ipv4 add --gateway ${NEW.gw} --network default`)
  expect(new Set(s.execLog.map((e) => e.address))).toEqual(new Set([OLD.ip, NEW.ip]))
}

/** A change whose check fails rolls back; the host ends where it was, and says why. */
async function rolledBackChange(
  esx: SimHost,
  sshd: Sshd,
  to: Net,
  deadline: number,
): Promise<string> {
  const before = await connect(esx, sshd, OLD.ip)
  const change = await startChange(before, to, deadline)
  await before.closed
  await sshd.waitForAddress(OLD.ip)
  const back = await connectWhenUp(esx, sshd, OLD.ip)
  const log = await logOnceItSays(back, change, 'midwife-mgmt: rolled back')
  expect((await back.run('esxcli network ip interface ipv4 get -i vmk0')).stdout).toContain(
    `vmk0  ${OLD.ip}   ${OLD.mask}  127.0.10.255    STATIC`,
  )
  expect((await back.run('esxcfg-route')).stdout).toBe(`VMkernel default gateway is ${OLD.gw}\n`)
  await expectRefused(esx, sshd, to.ip)
  return log
}

describe('management address change over the ssh2 simulator', () => {
  it.each(ESXI_PROFILES)(
    'ESXi %s: the session drops, the host answers only at the new address, confirmed and verified',
    async (profile: EsxiProfile) => {
      const esx = await simHost({ profile })
      await confirmedChange(esx, await ssh2Sshd(esx))
    },
  )

  it('a gateway that does not answer rolls back to the old address', async () => {
    const esx = await simHost({ reachable: [OLD.gw] })
    const log = await rolledBackChange(esx, await ssh2Sshd(esx), NEW, 60)
    expect(log).toContain(`midwife-mgmt: rolling back: gateway ${NEW.gw} does not answer`)
  })

  it('a gateway outside the new subnet is refused by ESXi and rolls back', async () => {
    const esx = await simHost()
    const log = await rolledBackChange(esx, await ssh2Sshd(esx), { ...NEW, gw: '127.0.30.1' }, 60)
    expect(log).toMatch(/rolling back: Error: Unable to set VMkernel gateway to 127\.0\.30\.1/)
  })

  it('without vmkping and without a confirmation, the deadline rolls back', async () => {
    const esx = await simHost({ quirks: { vmkping: 'absent' } })
    const sshd = await ssh2Sshd(esx)
    const before = await connect(esx, sshd, OLD.ip)
    const change = await startChange(before, NEW, 2)
    await before.closed
    // Midwife reaches the new address but never confirms: the rollback drops it there too.
    const unconfirmed = await connectWhenUp(esx, sshd, NEW.ip)
    await logOnceItSays(unconfirmed, change, 'waiting for confirmation')
    await unconfirmed.closed
    const back = await connectWhenUp(esx, sshd, OLD.ip)
    const log = await logOnceItSays(back, change, 'midwife-mgmt: rolled back')
    expect(log).toContain('rolling back: no confirmation within 2s')
    expect(esx.state().log.filter((l) => l.startsWith('vmkping'))).toEqual([])
  })

  it('a session that changes vmk0 itself is dropped before it hears the result', async () => {
    const esx = await simHost()
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    const result = await s.run(
      `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${NEW.ip} -N ${NEW.mask}`,
    )
    expect(result.code).toBeNull()
    expect(await s.closed).toMatchObject({ code: 'ECONNRESET' })
    expect(managementAddress(esx.state())).toBe(NEW.ip)
    await sshd.waitForAddress(NEW.ip)
    await connectWhenUp(esx, sshd, NEW.ip)
  })

  it('follows a change made by a shim process outside any session', async () => {
    const esx = await simHost()
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    const shim = await esx.sh([
      '-c',
      `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${NEW.ip} -N ${NEW.mask}`,
    ])
    expect(shim.code).toBe(0)
    await s.closed
    await sshd.waitForAddress(NEW.ip)
    await expectRefused(esx, sshd, OLD.ip)
    const at = await connectWhenUp(esx, sshd, NEW.ip)
    expect(at.hostKey).toBe(s.hostKey)
  })

  it('vmk0 switched to DHCP answers at its lease', async () => {
    const lease = { address: '127.0.40.7', netmask: '255.255.255.0', gateway: '127.0.40.1' }
    const esx = await simHost({ dhcpLeases: { vmk0: lease } })
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    expect(
      (
        await s.run(
          '(sleep 1; esxcli network ip interface ipv4 set -i vmk0 -t dhcp) >/dev/null 2>&1 </dev/null &',
        )
      ).code,
    ).toBe(0)
    await s.closed
    await sshd.waitForAddress(lease.address)
    const at = await connectWhenUp(esx, sshd, lease.address)
    expect((await at.run('esxcfg-route')).stdout).toBe('VMkernel default gateway is 127.0.40.1\n')
  })

  it('with the hang quirk, the old session is left hanging until the client gives up', async () => {
    const esx = await simHost({ quirks: { oldAddressSessions: 'hang' } })
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip, { keepaliveInterval: 100, keepaliveCountMax: 3 })
    await esx.sh([
      '-c',
      `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${NEW.ip} -N ${NEW.mask}`,
    ])
    await sshd.waitForAddress(NEW.ip)
    await connectWhenUp(esx, sshd, NEW.ip)
    const ended = await s.closed
    expect(ended?.message).toMatch(/Keepalive timeout/)
  })

  it('an address outside 127.0.0.0/8 is a network nobody here reaches; moving back answers again', async () => {
    const esx = await simHost()
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    await esx.sh([
      '-c',
      'esxcli network ip interface ipv4 set -i vmk0 -t static -I 10.0.0.10 -N 255.255.255.0',
    ])
    await s.closed
    await sshd.waitForAddress(null)
    await expectRefused(esx, sshd, OLD.ip)
    await esx.sh([
      '-c',
      `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${OLD.ip} -N ${OLD.mask}`,
    ])
    await sshd.waitForAddress(OLD.ip)
    await connect(esx, sshd, OLD.ip)
  })

  it('stopping the SSH service stops new logins; the session that did it stays', async () => {
    const esx = await simHost()
    const sshd = await ssh2Sshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    expect((await s.run('vim-cmd hostsvc/stop_ssh')).code).toBe(0)
    await sshd.waitForAddress(null)
    await expectRefused(esx, sshd, OLD.ip)
    expect((await s.run('/etc/init.d/SSH status')).code).toBe(3)
    expect((await s.run('vim-cmd hostsvc/start_ssh')).code).toBe(0)
    await sshd.waitForAddress(OLD.ip)
    await connect(esx, sshd, OLD.ip)
  })
})

describe('management address change over a real OpenSSH server (BusyBox login shell)', () => {
  it('the session drops, sshd answers only at the new address, confirmed and verified', async () => {
    const esx = await simHost()
    await confirmedChange(esx, await openSshd(esx))
  })

  it('a gateway that does not answer rolls back to the old address', async () => {
    const esx = await simHost({ reachable: [OLD.gw] })
    const log = await rolledBackChange(esx, await openSshd(esx), NEW, 60)
    expect(log).toContain(`rolling back: gateway ${NEW.gw} does not answer`)
  })

  it('the new root password is the only one sshd then takes', async () => {
    const esx = await simHost()
    const sshd = await openSshd(esx)
    const s = await connect(esx, sshd, OLD.ip)
    expect(
      (await s.run("esxcli system account set -i root -p 'N3w-Pa55!' -c 'N3w-Pa55!'")).code,
    ).toBe(0)
    await expect(connect(esx, sshd, OLD.ip)).rejects.toThrow(/authentication methods failed/)
    await connect(esx, { ...sshd, password: 'N3w-Pa55!' }, OLD.ip)
    const lines = esx.state().execLog.map((e) => e.address)
    expect(lines.every((a) => a === OLD.ip)).toBe(true)
    expect(readFileSync(join(esx.dir, 'state.json'), 'utf8')).toContain('execLog')
  })
})
