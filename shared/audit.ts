// The audit trail: one row per change and one `[audit]` line on stdout, secrets masked.
import type { Queryable, Sql } from './db/connect.js';
import type { Logger } from './logger.js';

export interface Actor {
  /** `AuthToken`: an API token, as Commander names it (`user_name` is the token's name). */
  userType: 'AuthToken' | 'User' | 'System' | 'Agent';
  userName: string | null;
  remoteAddress: string | null;
  requestUuid: string | null;
  workspaceId: string | null;
  workspaceSlug: string | null;
}

/**
 * Every kind of audited object and the actions recorded on it: the audit trail's vocabulary
 * (docs/operations.md lists it for people).
 */
export const AUDIT_VOCABULARY = {
  Cluster: ['create', 'update', 'update_resources', 'destroy'],
  AuthToken: ['create', 'destroy'],
  ClusterTemplate: ['create', 'update', 'destroy'],
  ClusterTemplateVersion: ['create', 'update'],
  AgentToken: ['create'],
  Agent: ['revoke'],
  Task: ['create', 'cancel'],
  Tunnel: ['tunnel'],
  Registry: ['create', 'update', 'destroy'],
  Catalog: ['create', 'update', 'destroy'],
  Record: ['create', 'update', 'destroy'],
  ClusterChangeRequest: ['create', 'approve'],
  Workspace: ['create', 'update'],
  WorkspaceRoleBinding: ['create', 'update', 'destroy'],
} as const;

type Vocabulary = typeof AUDIT_VOCABULARY;
export type AuditableType = keyof Vocabulary;

/** One audited change; the action must be one the object's type records. */
export type AuditEntry = {
  [Type in AuditableType]: {
    auditableType: Type;
    auditableId: string;
    action: Vocabulary[Type][number];
    changes?: Record<string, unknown>;
  };
}[AuditableType];

/** The types whose objects are archived ("destroy" in the trail). */
export type DestroyableType = {
  [Type in AuditableType]: 'destroy' extends Vocabulary[Type][number] ? Type : never;
}[AuditableType];

export interface AuditRecord {
  auditable_type: string;
  auditable_id: string;
  action: string;
  user_type: string | null;
  user_name: string | null;
  remote_address: string | null;
  request_uuid: string | null;
  workspace_slug: string | null;
  audited_changes: Record<string, unknown>;
}

const SECRET_FIELDS = new Set([
  'auth',
  'dockercfg',
  'private_key',
  'token',
  'token_hash',
  'password',
  'secret',
  'data',
  'stringData',
]);
export const MASK = '[FILTERED]';

/** Replaces the value of every secret-named field, at any depth, with a mask. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SECRET_FIELDS.has(key) && inner !== null && inner !== undefined ? MASK : maskSecrets(inner),
    ]),
  );
}

function auditRecord(actor: Actor, entry: AuditEntry): AuditRecord {
  return {
    auditable_type: entry.auditableType,
    auditable_id: entry.auditableId,
    action: entry.action,
    user_type: actor.userType,
    user_name: actor.userName,
    remote_address: actor.remoteAddress,
    request_uuid: actor.requestUuid,
    workspace_slug: actor.workspaceSlug,
    audited_changes: maskSecrets(entry.changes ?? {}) as Record<string, unknown>,
  };
}

/** Writes the audit row inside the caller's transaction; print the record once it commits. */
export async function recordAudit(tx: Queryable, actor: Actor, entry: AuditEntry): Promise<AuditRecord> {
  const record = auditRecord(actor, entry);
  await tx`insert into audit_records (workspace_id, auditable_type, auditable_id, action, user_type, user_name,
      remote_address, request_uuid, workspace_slug, audited_changes)
    values (${actor.workspaceId}, ${record.auditable_type}, ${record.auditable_id}, ${record.action},
      ${record.user_type}, ${record.user_name}, ${record.remote_address}, ${record.request_uuid},
      ${record.workspace_slug}, ${tx.json(record.audited_changes as never)})`;
  return record;
}

/** Prints records once they are stored; several at once when they were stored together. */
export type AuditPrinter = (...records: AuditRecord[]) => void;

/** The stdout line log shippers filter on, as in the reference: `<time> [audit] {json}`. */
export function stdoutAuditPrinter(
  write: (lines: string) => void = (lines) => process.stdout.write(lines),
): AuditPrinter {
  return (...records) => {
    const time = new Date().toISOString();
    write(records.map((record) => `${time} [audit] ${JSON.stringify(record)}\n`).join(''));
  };
}

interface PendingAudit {
  workspaceId: string | null;
  record: AuditRecord;
  at: Date;
}

/** Short: a larger batch is a burst of work that delays whatever the processes do meanwhile. */
const AUDIT_FLUSH_MS = 5;
const AUDIT_RETRY_MS = 1000;
const AUDIT_BATCH = 500;
/** Rows kept while the database is away; older ones beyond this are dropped, and logged. */
const AUDIT_MAX_PENDING = 100_000;

/**
 * Audit rows no caller waits for (a tunnel's end), written in batches: one insert and one stdout
 * write for many. Opening and closing thousands of tunnels a second would otherwise cost each a
 * transaction of its own. Rows that fail are retried; `stop()` writes what is left.
 */
export class AuditWriter {
  private pending: PendingAudit[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last write failed: wait for the retry timer instead of trying at every new row. */
  private retrying = false;

  constructor(
    private readonly sql: Sql,
    private readonly print: AuditPrinter,
    private readonly logger: Logger,
  ) {}

  add(actor: Actor, entry: AuditEntry): void {
    this.pending.push({ workspaceId: actor.workspaceId, record: auditRecord(actor, entry), at: new Date() });
    if (this.pending.length > AUDIT_MAX_PENDING) {
      const dropped = this.pending.splice(0, this.pending.length - AUDIT_MAX_PENDING);
      this.logger.error({ dropped: dropped.length }, 'audit rows dropped: the database is not taking them');
    }
    if (this.pending.length >= AUDIT_BATCH && !this.retrying) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), AUDIT_FLUSH_MS);
  }

  /** Writes everything queued, once more for rows that failed before. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
    if (this.pending.length > 0) {
      this.logger.error({ lost: this.pending.length }, 'audit rows not stored at shutdown');
    }
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, AUDIT_BATCH);
        this.retrying = !(await this.write(batch));
        if (this.retrying) {
          // Kept in order for the next try, a second later or at stop().
          this.pending.unshift(...batch);
          if (!this.stopped) this.timer ??= setTimeout(() => void this.flush(), AUDIT_RETRY_MS);
          return;
        }
      }
    });
    return this.flushing;
  }

  private async write(batch: PendingAudit[]): Promise<boolean> {
    const rows = batch.map(({ workspaceId, record, at }) => ({
      ...record,
      workspace_id: workspaceId,
      created_at: at.toISOString(),
    }));
    try {
      // Committed without waiting for the WAL flush (set_config is local to this statement's
      // transaction): that flush cost PostgreSQL more CPU than the rows. A crash of PostgreSQL
      // itself may lose the last fraction of a second of these rows, as a crash of the gateway
      // loses the rows it still holds.
      await this.sql`insert into audit_records (workspace_id, auditable_type, auditable_id, action, user_type,
          user_name, remote_address, request_uuid, workspace_slug, audited_changes, created_at)
        select r.* from jsonb_to_recordset(${this.sql.json(rows as never)}) as r(workspace_id uuid,
          auditable_type text, auditable_id text, action text, user_type text, user_name text,
          remote_address text, request_uuid text, workspace_slug text, audited_changes jsonb,
          created_at timestamptz),
          (select set_config('synchronous_commit', 'off', true)) as async_commit`;
    } catch (error) {
      this.logger.error({ err: error, rows: batch.length }, 'could not store audit rows; will retry');
      return false;
    }
    this.print(...batch.map(({ record }) => record));
    return true;
  }
}

/** Rails-audited style changes: `{field: [old, new]}` for each field that differs. */
export function diffChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(value)) changes[key] = [before[key] ?? null, value];
  }
  return changes;
}
