// What a cluster made from a template takes from the inventory: the records its catalog
// parameters name, resolved for the render (outside the transaction) and bound to the cluster in
// its transaction, where a record that changed or was taken meanwhile refuses the whole change.
import { isDeepStrictEqual } from 'node:util';
import { type Actor, type AuditRecord, recordAudit } from '../shared/audit.js';
import type { Queryable } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import { fieldsOf, type Params } from '../shared/params/schema.js';
import type { RecordReference } from '../shared/params/values.js';
import { bindRecords, resolveRecords } from '../shared/records.js';

export interface ClusterRecords {
  workspaceId: string;
  clusterId: string;
  params: Params;
  references: RecordReference[];
}

/** The values the template sees: the checked values with each catalog parameter's record(s). */
export async function withRecords(
  sql: Queryable,
  input: ClusterRecords,
  checked: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const records = await resolveRecords(sql, { ...input, fields: fieldsOf(input.params) });
  return { ...checked, ...records };
}

/**
 * Binds the records in the cluster's transaction and frees those it no longer names; each change
 * of a record's cluster is audited. `rendered` are the values the template was rendered with: a
 * record edited since answers 409, so no cluster is stored with values its records no longer have.
 */
export async function bindClusterRecords(
  tx: Queryable,
  actor: Actor,
  input: ClusterRecords,
  rendered: Record<string, unknown>,
): Promise<AuditRecord[]> {
  const binding = await bindRecords(tx, { ...input, fields: fieldsOf(input.params) });
  for (const [key, value] of Object.entries(binding.values)) {
    if (!isDeepStrictEqual(value, rendered[key])) {
      throw new CommanderError(
        'CONFLICT',
        `body/values/${key}: the record changed while the cluster was rendered; send the request again`,
      );
    }
  }
  const audits: AuditRecord[] = [];
  for (const [ids, change] of [
    [binding.bound, [null, input.clusterId]],
    [binding.released, [input.clusterId, null]],
  ] as const) {
    for (const id of ids) {
      audits.push(
        await recordAudit(tx, actor, {
          auditableType: 'Record',
          auditableId: id,
          action: 'update',
          changes: { cluster_id: change },
        }),
      );
    }
  }
  return audits;
}
