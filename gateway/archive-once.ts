// Archiving an object through the API: once, in one transaction with its audit record. Archiving
// an archived object again is not an error: the answer is the object as it is, and nothing is
// audited twice.
import { type Actor, type AuditPrinter, type DestroyableType, recordAudit } from '../shared/audit.js';
import type { Queryable, Sql } from '../shared/db/connect.js';

interface Archivable {
  id: string;
  archived_at: Date | null;
}

export async function archiveOnce<Row extends Archivable>(
  deps: { sql: Sql; printAudit: AuditPrinter },
  actor: Actor,
  auditableType: DestroyableType,
  /** The row, locked for the transaction. */
  find: (tx: Queryable) => Promise<Row>,
  archive: (tx: Queryable, row: Row) => Promise<Row>,
  changes: (after: Row) => Record<string, unknown> = (after) => ({ archived_at: [null, after.archived_at] }),
): Promise<Row> {
  const { row, audit } = await deps.sql.begin(async (tx) => {
    const before = await find(tx);
    if (before.archived_at) return { row: before, audit: undefined };
    const after = await archive(tx, before);
    const record = await recordAudit(tx, actor, {
      auditableType,
      auditableId: after.id,
      action: 'destroy',
      changes: changes(after),
    });
    return { row: after, audit: record };
  });
  if (audit) deps.printAudit(audit);
  return row;
}
