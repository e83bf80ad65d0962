import { z } from 'zod'
import type { Host } from '../../contract/schemas'
import { now, type Db } from './db'

const JsonStrings = z.string().transform((s, ctx) => {
  const parsed = z.array(z.string()).safeParse(JSON.parse(s))
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: 'stored list is not a list of strings' })
    return z.NEVER
  }
  return parsed.data
})

const HostRow = z.object({
  id: z.number().int(),
  hostname: z.string(),
  domain: z.string(),
  mac: z.string(),
  dns_servers: JsonStrings,
  ntp_servers: JsonStrings,
  ssh_user: z.string(),
  ssh_port: z.number().int(),
  has_password: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
})

const SecretsRow = z.object({
  root_password: z.instanceof(Buffer).nullable(),
  token: z.instanceof(Buffer),
})

const COLUMNS = `id, hostname, domain, mac, dns_servers, ntp_servers, ssh_user, ssh_port,
  root_password IS NOT NULL AS has_password, created_at, updated_at`

function toHost(row: unknown): Host {
  const r = HostRow.parse(row)
  return {
    id: r.id,
    hostname: r.hostname,
    domain: r.domain,
    mac: r.mac,
    dnsServers: r.dns_servers,
    ntpServers: r.ntp_servers,
    sshUser: r.ssh_user,
    sshPort: r.ssh_port,
    hasPassword: r.has_password === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export interface HostFields {
  hostname: string
  domain: string
  mac: string
  dnsServers: string[]
  ntpServers: string[]
  sshUser: string
  sshPort: number
}

/** Secrets arrive sealed by the SecretBox; this table never sees them in the clear. */
export interface SealedHostSecrets {
  rootPassword: Buffer | null
  token: Buffer
}

export class HostsTable {
  constructor(private readonly db: Db) {}

  list(): Host[] {
    return this.db
      .prepare(`SELECT ${COLUMNS} FROM hosts ORDER BY hostname, domain`)
      .all()
      .map(toHost)
  }

  get(id: number): Host | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM hosts WHERE id = ?`).get(id)
    return row === undefined ? undefined : toHost(row)
  }

  findByTokenHash(tokenHash: string): Host | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM hosts WHERE token_hash = ?`).get(tokenHash)
    return row === undefined ? undefined : toHost(row)
  }

  /** Which host, other than `exceptId`, already uses this MAC or FQDN. */
  findConflict(f: HostFields, exceptId?: number): string | null {
    const byMac = this.db
      .prepare('SELECT hostname FROM hosts WHERE mac = ? AND id IS NOT ?')
      .get(f.mac, exceptId ?? null) as { hostname: string } | undefined
    if (byMac) return `MAC ${f.mac} is already used by host ${byMac.hostname}`
    const byName = this.db
      .prepare('SELECT id FROM hosts WHERE hostname = ? AND domain = ? AND id IS NOT ?')
      .get(f.hostname, f.domain, exceptId ?? null)
    if (byName) return `a host named ${f.hostname}.${f.domain} already exists`
    return null
  }

  insert(f: HostFields, secrets: SealedHostSecrets, tokenHash: string): Host {
    const t = now()
    const info = this.db
      .prepare(
        `INSERT INTO hosts (hostname, domain, mac, dns_servers, ntp_servers, ssh_user, ssh_port,
           root_password, token_hash, token, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        f.hostname,
        f.domain,
        f.mac,
        JSON.stringify(f.dnsServers),
        JSON.stringify(f.ntpServers),
        f.sshUser,
        f.sshPort,
        secrets.rootPassword,
        tokenHash,
        secrets.token,
        t,
        t,
      )
    return this.get(Number(info.lastInsertRowid)) as Host
  }

  /** Updates the definition; a null password keeps the stored one. */
  update(id: number, f: HostFields, rootPassword: Buffer | null): Host | undefined {
    const info = this.db
      .prepare(
        `UPDATE hosts SET hostname = ?, domain = ?, mac = ?, dns_servers = ?, ntp_servers = ?,
           ssh_user = ?, ssh_port = ?, root_password = COALESCE(?, root_password), updated_at = ?
         WHERE id = ?`,
      )
      .run(
        f.hostname,
        f.domain,
        f.mac,
        JSON.stringify(f.dnsServers),
        JSON.stringify(f.ntpServers),
        f.sshUser,
        f.sshPort,
        rootPassword,
        now(),
        id,
      )
    return info.changes === 0 ? undefined : this.get(id)
  }

  delete(id: number): boolean {
    return this.db.prepare('DELETE FROM hosts WHERE id = ?').run(id).changes > 0
  }

  secrets(id: number): SealedHostSecrets | undefined {
    const row = this.db.prepare('SELECT root_password, token FROM hosts WHERE id = ?').get(id)
    if (row === undefined) return undefined
    const r = SecretsRow.parse(row)
    return { rootPassword: r.root_password, token: r.token }
  }
}
