import { z } from 'zod'
import { HostState } from '../../contract/lifecycle'
import {
  Attention,
  BoundIdentity,
  EsxiVersion,
  InstallEvidence,
  SecureBootPath,
  type ReportedIdentity,
} from '../../contract/schemas'
import { now, statements, type Db } from './db'

/** A stored spec: setting values by key, secret ones sealed ({ $sealed: base64 }). */
export type StoredSpec = Record<string, unknown>
const SpecJson = z.string().transform((s) => z.record(z.string(), z.unknown()).parse(JSON.parse(s)))

function jsonOf<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .nullable()
    .transform((s) => (s === null ? null : schema.parse(JSON.parse(s))))
}

const HostRow = z.object({
  id: z.number().int(),
  state: HostState,
  state_reason: z.string().nullable(),
  state_changed_at: z.string(),
  hostname: z.string().nullable(),
  domain: z.string().nullable(),
  mac: z.string().nullable(),
  serial: z.string().nullable(),
  spec: SpecJson,
  ssh_user: z.string(),
  ssh_port: z.number().int(),
  has_password: z.number().int(),
  token_hash: z.string().nullable(),
  identity: jsonOf(BoundIdentity),
  attention: jsonOf(Attention),
  esxi_version: EsxiVersion.nullable(),
  secure_boot: z
    .number()
    .int()
    .nullable()
    .transform((n) => (n === null ? null : n === 1)),
  install_report: jsonOf(InstallEvidence),
  secure_boot_path: jsonOf(SecureBootPath),
  created_at: z.string(),
  updated_at: z.string(),
})

const SecretsRow = z.object({
  root_password: z.instanceof(Buffer).nullable(),
  token: z.instanceof(Buffer).nullable(),
})

const COLUMNS = `id, state, state_reason, state_changed_at, hostname, domain, mac, serial,
  spec, ssh_user, ssh_port, root_password IS NOT NULL AS has_password,
  token_hash, identity, attention, esxi_version, secure_boot, install_report, secure_boot_path, created_at,
  updated_at`

/** What the operator defined, as stored (its spec may hold sealed secrets). */
export interface StoredDefinition {
  hostname: string
  domain: string
  mac: string
  serial: string | null
  sshUser: string
  sshPort: number
  hasPassword: boolean
  spec: StoredSpec
  /** The ESXi version its netboot installs; null: the site's default. */
  esxiVersion: EsxiVersion | null
  /** Whether it boots with UEFI Secure Boot; null: as the site expects. */
  secureBoot: boolean | null
}

/** A host as the store keeps it; services add what is derived (evidence, gates, suggestions). */
export interface HostRecord {
  id: number
  state: HostState
  stateReason: string | null
  stateChangedAt: string
  /** Null for a discovered server no definition claims yet. */
  definition: StoredDefinition | null
  identity: BoundIdentity | null
  attention: Attention | null
  /** What the installer's %pre/%post last reported, if it did. */
  install: InstallEvidence | null
  /** Where the Secure Boot path stands for this install, once it started. */
  secureBootPath: SecureBootPath | null
  tokenHash: string | null
  createdAt: string
  updatedAt: string
}

function toRecord(row: unknown): HostRecord {
  const r = HostRow.parse(row)
  const definition: StoredDefinition | null =
    r.hostname === null || r.domain === null || r.mac === null
      ? null
      : {
          hostname: r.hostname,
          domain: r.domain,
          mac: r.mac,
          serial: r.serial,
          sshUser: r.ssh_user,
          sshPort: r.ssh_port,
          hasPassword: r.has_password === 1,
          spec: r.spec,
          esxiVersion: r.esxi_version,
          secureBoot: r.secure_boot,
        }
  return {
    id: r.id,
    state: r.state,
    stateReason: r.state_reason,
    stateChangedAt: r.state_changed_at,
    definition,
    identity: r.identity,
    attention: r.attention,
    install: r.install_report,
    secureBootPath: r.secure_boot_path,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** What an operator defines; the password arrives separately, sealed. */
export interface DefinitionFields {
  hostname: string
  domain: string
  mac: string
  serial: string | null
  sshUser: string
  sshPort: number
  /** The host's own values, secrets already sealed. */
  spec: StoredSpec
  /** Left out: null (the site's default). */
  esxiVersion?: EsxiVersion | null
  secureBoot?: boolean | null
}

const flag = (b: boolean | null | undefined) => (b === null || b === undefined ? null : b ? 1 : 0)

/** Secrets arrive sealed by the SecretBox; this table never sees them in the clear. */
export interface SealedHostSecrets {
  rootPassword: Buffer | null
  token: Buffer | null
}

/** One `?` per value, for an IN (...) list. */
const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ')

export class HostsTable {
  private readonly q: ReturnType<typeof statements>
  /**
   * Hosts as last read outside a transaction, by id and by token hash: every
   * check-in looks its host up, and parsing the row (its identity JSON
   * through zod) cost more than storing the check-in. Any write through this
   * table empties both; only reads outside a transaction fill them, so what
   * is cached is always committed, and a transaction that wrote reads past it.
   */
  private readonly byToken = new Map<string, HostRecord>()
  private readonly byId = new Map<number, HostRecord>()

  /** `deleted` hears of each deleted host (its check-ins keep a null host, and its id may come back). */
  constructor(
    private readonly db: Db,
    private readonly deleted: (id: number) => void = () => undefined,
  ) {
    this.q = statements(db)
  }

  /** Counts writes, so a record read earlier can be known to be still current. */
  private writes = 0

  get generation(): number {
    return this.writes
  }

  private changed(): void {
    this.writes++
    this.byToken.clear()
    this.byId.clear()
  }

  /** The host whose `column` is `key`: from `cache`, else read (and cached outside a transaction). */
  private cachedBy<K extends string | number>(
    cache: Map<K, HostRecord>,
    column: 'id' | 'token_hash',
    key: K,
  ): HostRecord | undefined {
    const cached = cache.get(key)
    if (cached) return cached
    const row = this.q(`SELECT ${COLUMNS} FROM hosts WHERE ${column} = ?`).get(key)
    if (row === undefined) return undefined
    const record = toRecord(row)
    if (!this.db.inTransaction) {
      if (cache.size >= 10_000) cache.clear()
      cache.set(key, record)
    }
    return record
  }

  /** How many hosts are in one of these states. */
  countIn(states: readonly string[]): number {
    if (states.length === 0) return 0
    const row = this.q(`SELECT COUNT(*) AS n FROM hosts WHERE state IN (${marks(states)})`).get(
      ...states,
    ) as { n: number }
    return row.n
  }

  /** The hosts in one of these states (by the state index: no other row is read). */
  listIn(states: readonly string[]): HostRecord[] {
    if (states.length === 0) return []
    return this.q(`SELECT ${COLUMNS} FROM hosts WHERE state IN (${marks(states)}) ORDER BY id`)
      .all(...states)
      .map(toRecord)
  }

  /** Up to `limit` hosts with ids above `afterId`, in id order. */
  listAfter(afterId: number, limit: number): HostRecord[] {
    return this.q(`SELECT ${COLUMNS} FROM hosts WHERE id > ? ORDER BY id LIMIT ?`)
      .all(afterId, limit)
      .map(toRecord)
  }

  list(): HostRecord[] {
    return this.q(`SELECT ${COLUMNS} FROM hosts ORDER BY hostname IS NULL, hostname, domain, id`)
      .all()
      .map(toRecord)
  }

  /** Whether host `id` exists, without reading its record. */
  has(id: number): boolean {
    return this.byId.has(id) || this.q('SELECT 1 FROM hosts WHERE id = ?').get(id) !== undefined
  }

  get(id: number): HostRecord | undefined {
    return this.cachedBy(this.byId, 'id', id)
  }

  byTokenHash(tokenHash: string): HostRecord | undefined {
    return this.cachedBy(this.byToken, 'token_hash', tokenHash)
  }

  /** The definition with this MAC (aa:bb:cc:dd:ee:ff, lower case), as a netbooting server names itself. */
  byMac(mac: string): HostRecord | undefined {
    const row = this.q(`SELECT ${COLUMNS} FROM hosts WHERE mac = ?`).get(mac)
    return row === undefined ? undefined : toRecord(row)
  }

  /** The host a retired (rotated) token belonged to, so its URLs can answer 410, not 401. */
  retiredToken(tokenHash: string): number | undefined {
    const row = this.q('SELECT host_id FROM retired_tokens WHERE token_hash = ?').get(tokenHash) as
      { host_id: number | null } | undefined
    return row?.host_id ?? undefined
  }

  /** Definitions no server is bound to yet whose MAC is one of these. */
  unboundWithMac(macs: string[]): HostRecord[] {
    if (macs.length === 0) return []
    return this.q(
      `SELECT ${COLUMNS} FROM hosts WHERE identity IS NULL AND mac IN (SELECT value FROM json_each(?))`,
    )
      .all(JSON.stringify(macs))
      .map(toRecord)
  }

  unboundWithSerial(serial: string): HostRecord[] {
    return this.q(`SELECT ${COLUMNS} FROM hosts WHERE identity IS NULL AND serial = ?`)
      .all(serial)
      .map(toRecord)
  }

  /**
   * Hosts whose bound identity shares a hardware identifier or a host key with
   * this report: the same machine, whatever credential it presented.
   */
  boundLike(r: ReportedIdentity): HostRecord[] {
    return this.q(
      `SELECT ${COLUMNS} FROM hosts WHERE identity IS NOT NULL AND (
         (? IS NOT NULL AND json_extract(identity, '$.uuid') = ?)
         OR (? IS NOT NULL AND json_extract(identity, '$.serial') = ?)
         OR EXISTS (SELECT 1 FROM json_each(identity, '$.sshHostKeys') k
                    WHERE json_extract(k.value, '$.fingerprint') IN (SELECT value FROM json_each(?))))
       ORDER BY hostname IS NULL, id`,
    )
      .all(
        r.uuid,
        r.uuid,
        r.serial,
        r.serial,
        JSON.stringify(r.sshHostKeys.map((k) => k.fingerprint)),
      )
      .map(toRecord)
  }

  /**
   * The defined, not retired host other than `exceptId` whose bound identity shares this
   * server's serial, UUID or an SSH host key: the server is that host, whatever token it used.
   */
  heldElsewhere(r: ReportedIdentity, exceptId: number): HostRecord | undefined {
    return this.boundLike(r).find(
      (h) => h.id !== exceptId && h.definition !== null && h.state !== 'retired',
    )
  }

  /** Which host, other than `exceptId`, already uses this MAC or FQDN. */
  findConflict(f: DefinitionFields, exceptId?: number): string | null {
    const byMac = this.q('SELECT hostname FROM hosts WHERE mac = ? AND id IS NOT ?').get(
      f.mac,
      exceptId ?? null,
    ) as { hostname: string } | undefined
    if (byMac) return `MAC ${f.mac} is already used by host ${byMac.hostname}`
    const byName = this.q(
      'SELECT id FROM hosts WHERE hostname = ? AND domain = ? AND id IS NOT ?',
    ).get(f.hostname, f.domain, exceptId ?? null)
    if (byName) return `a host named ${f.hostname}.${f.domain} already exists`
    return null
  }

  /**
   * The id for a new host: one more than any host ever had, so a deleted
   * host's id (its audit trail, its report, a screen still showing it) never
   * names another host.
   */
  private nextId(): number {
    const row = this.q(
      `SELECT MAX(COALESCE((SELECT id FROM id_high_water WHERE name = 'hosts'), 0),
                  COALESCE((SELECT MAX(id) FROM hosts), 0)) + 1 AS id`,
    ).get() as { id: number }
    this.q(`INSERT OR REPLACE INTO id_high_water (name, id) VALUES ('hosts', ?)`).run(row.id)
    return row.id
  }

  insertDefinition(f: DefinitionFields, secrets: SealedHostSecrets, tokenHash: string): number {
    this.changed()
    const t = now()
    const info = this.q(
      `INSERT INTO hosts (id, state, state_reason, state_changed_at, hostname, domain, mac, serial,
         spec, esxi_version, secure_boot, ssh_user, ssh_port, root_password, token_hash, token,
         created_at, updated_at)
       VALUES (?, 'defined', 'defined by the operator', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.nextId(),
      t,
      f.hostname,
      f.domain,
      f.mac,
      f.serial,
      JSON.stringify(f.spec),
      f.esxiVersion ?? null,
      flag(f.secureBoot),
      f.sshUser,
      f.sshPort,
      secrets.rootPassword,
      tokenHash,
      secrets.token,
      t,
      t,
    )
    return Number(info.lastInsertRowid)
  }

  /** A server that checked in with the enrollment key: a host with an identity and no definition. */
  insertDiscovered(identity: BoundIdentity, reason: string): number {
    this.changed()
    const t = now()
    const info = this.q(
      `INSERT INTO hosts (id, state, state_reason, state_changed_at, identity, created_at, updated_at)
       VALUES (?, 'discovered', ?, ?, ?, ?, ?)`,
    ).run(this.nextId(), reason, t, JSON.stringify(identity), t, t)
    return Number(info.lastInsertRowid)
  }

  /**
   * Writes a definition. A null password keeps the stored one; a token (given
   * when a discovered server is being defined) arms it for boot material.
   */
  writeDefinition(
    id: number,
    f: DefinitionFields,
    rootPassword: Buffer | null,
    token?: { sealed: Buffer; hash: string },
  ): boolean {
    this.changed()
    const info = this.q(
      `UPDATE hosts SET hostname = ?, domain = ?, mac = ?, serial = ?, spec = ?,
         esxi_version = ?, secure_boot = ?,
         ssh_user = ?, ssh_port = ?, root_password = COALESCE(?, root_password),
         token = COALESCE(?, token), token_hash = COALESCE(?, token_hash), updated_at = ?
       WHERE id = ?`,
    ).run(
      f.hostname,
      f.domain,
      f.mac,
      f.serial,
      JSON.stringify(f.spec),
      f.esxiVersion ?? null,
      flag(f.secureBoot),
      f.sshUser,
      f.sshPort,
      rootPassword,
      token?.sealed ?? null,
      token?.hash ?? null,
      now(),
      id,
    )
    return info.changes > 0
  }

  /** The root password Midwife logs in with, sealed: after a rotation proved by a new login. */
  setRootPassword(id: number, sealed: Buffer): void {
    this.changed()
    this.q('UPDATE hosts SET root_password = ?, updated_at = ? WHERE id = ?').run(sealed, now(), id)
  }

  setIdentity(id: number, identity: BoundIdentity | null): void {
    this.setJson(id, 'identity', identity)
  }

  setAttention(id: number, attention: Attention | null): void {
    this.setJson(id, 'attention', attention)
  }

  /** What the installer reported last; null forgets it (a reinstall). */
  setInstall(id: number, install: InstallEvidence | null): void {
    this.setJson(id, 'install_report', install)
  }

  /** Where the Secure Boot path stands; null forgets it (a reinstall). */
  setSecureBootPath(id: number, path: SecureBootPath | null): void {
    this.setJson(id, 'secure_boot_path', path)
  }

  /** One of the host's JSON columns; null clears it. */
  private setJson(
    id: number,
    column: 'identity' | 'attention' | 'install_report' | 'secure_boot_path',
    value: object | null,
  ): void {
    this.changed()
    this.q(`UPDATE hosts SET ${column} = ?, updated_at = ? WHERE id = ?`).run(
      value === null ? null : JSON.stringify(value),
      now(),
      id,
    )
  }

  /**
   * A new reason for the state the host stays in (a finding, not a move). Only
   * Store.noteHost calls this: it audits the finding in the same transaction.
   */
  setStateReason(id: number, reason: string): void {
    this.changed()
    this.q('UPDATE hosts SET state_reason = ?, updated_at = ? WHERE id = ?').run(reason, now(), id)
  }

  /** Only Store.moveHost calls this: it checks the lifecycle table and audits the move. */
  setState(id: number, state: HostState, reason: string): void {
    this.changed()
    const t = now()
    this.q(
      'UPDATE hosts SET state = ?, state_reason = ?, state_changed_at = ?, updated_at = ? WHERE id = ?',
    ).run(state, reason, t, t, id)
  }

  /** Something about the host changed that screens show (new evidence). */
  touch(id: number): void {
    this.changed()
    this.q('UPDATE hosts SET updated_at = ? WHERE id = ?').run(now(), id)
  }

  /** A new token; the old one is remembered only by hash, so it can answer 410. */
  rotateToken(id: number, sealed: Buffer, hash: string): void {
    this.changed()
    const old = this.get(id)?.tokenHash
    if (old) {
      this.q(
        'INSERT OR IGNORE INTO retired_tokens (token_hash, host_id, retired_at) VALUES (?, ?, ?)',
      ).run(old, id, now())
    }
    this.q('UPDATE hosts SET token = ?, token_hash = ?, updated_at = ? WHERE id = ?').run(
      sealed,
      hash,
      now(),
      id,
    )
  }

  delete(id: number): boolean {
    this.changed()
    this.deleted(id)
    return this.q('DELETE FROM hosts WHERE id = ?').run(id).changes > 0
  }

  secrets(id: number): SealedHostSecrets | undefined {
    const row = this.q('SELECT root_password, token FROM hosts WHERE id = ?').get(id)
    if (row === undefined) return undefined
    const r = SecretsRow.parse(row)
    return { rootPassword: r.root_password, token: r.token }
  }
}
