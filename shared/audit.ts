// The audit trail: one row per change and one `[audit]` line on stdout, secrets masked.
import type { Queryable } from './db/connect.js';

export interface Actor {
  userType: 'ApiToken' | 'User' | 'System' | 'Agent';
  userName: string | null;
  remoteAddress: string | null;
  requestUuid: string | null;
  workspaceId: string | null;
  workspaceSlug: string | null;
}

export interface AuditEntry {
  auditableType: string;
  auditableId: string;
  action: 'create' | 'update' | 'destroy' | string;
  changes?: Record<string, unknown>;
}

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

/** Writes the audit row inside the caller's transaction; print the record once it commits. */
export async function recordAudit(tx: Queryable, actor: Actor, entry: AuditEntry): Promise<AuditRecord> {
  const record: AuditRecord = {
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
  await tx`insert into audit_records (workspace_id, auditable_type, auditable_id, action, user_type, user_name,
      remote_address, request_uuid, workspace_slug, audited_changes)
    values (${actor.workspaceId}, ${record.auditable_type}, ${record.auditable_id}, ${record.action},
      ${record.user_type}, ${record.user_name}, ${record.remote_address}, ${record.request_uuid},
      ${record.workspace_slug}, ${tx.json(record.audited_changes as never)})`;
  return record;
}

export type AuditPrinter = (record: AuditRecord) => void;

/** The stdout line log shippers filter on, as in the reference: `<time> [audit] {json}`. */
export function stdoutAuditPrinter(
  write: (line: string) => void = (line) => process.stdout.write(line),
): AuditPrinter {
  return (record) => write(`${new Date().toISOString()} [audit] ${JSON.stringify(record)}\n`);
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
