// Inventory records, their SQL and row shape: values that follow their catalog's schema, and
// the one cluster a record is bound to (a template parameter with `catalog: <slug>` takes it).
// Binding locks the records' rows, so two clusters racing for a record cannot both get it; a
// deleted cluster's records are freed.
import { nextArchiveNumber } from './archive.js';
import type { Queryable } from './db/connect.js';
import { CommanderError } from './errors.js';
import { isList, type ParamField } from './params/schema.js';
import { RECORD_ID_KEY, type RecordReference } from './params/values.js';

export interface RecordRow {
  id: string;
  workspace_id: string;
  catalog_id: string;
  /** The cluster the record is bound to; null when free. */
  cluster_id: string | null;
  values: Record<string, unknown>;
  current_revision: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
}

export interface ValueIssue {
  path: string;
  message: string;
}

/** What a template sees for a record: its values plus its id under a key no value can take. */
export function recordTemplateValue(record: Pick<RecordRow, 'id' | 'values'>): Record<string, unknown> {
  return { ...record.values, [RECORD_ID_KEY]: record.id };
}

export async function listRecords(
  sql: Queryable,
  workspaceId: string,
  filter: { catalogId?: string; clusterId?: string; withoutArchived?: boolean } = {},
): Promise<RecordRow[]> {
  return sql<RecordRow[]>`
    select * from records where workspace_id = ${workspaceId}
      ${filter.catalogId ? sql`and catalog_id = ${filter.catalogId}` : sql``}
      ${filter.clusterId ? sql`and cluster_id = ${filter.clusterId}` : sql``}
      ${filter.withoutArchived ? sql`and archived_at is null` : sql``}
    order by created_at, id`;
}

/** Another workspace's record is not found, like a missing one. */
export async function findRecord(
  sql: Queryable,
  workspaceId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<RecordRow> {
  const [row] = await sql<RecordRow[]>`
    select * from records where id = ${id} and workspace_id = ${workspaceId}
      ${options.lock ? sql`for update` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `record ${id} not found`);
  return row;
}

/**
 * The `unique` keys whose value another live record of the catalog holds already. Call it with
 * the catalog row locked: that serialises the catalog's record writes, so two records cannot
 * take one value at once.
 */
export async function uniqueViolations(
  tx: Queryable,
  catalogId: string,
  keys: string[],
  values: Record<string, unknown>,
  exceptId?: string,
): Promise<ValueIssue[]> {
  const issues: ValueIssue[] = [];
  for (const key of keys) {
    if (!Object.hasOwn(values, key)) continue;
    const [other] = await tx<{ id: string }[]>`
      select id from records
      where catalog_id = ${catalogId} and archived_at is null and values -> ${key} = ${tx.json(values[key] as never)}::jsonb
        ${exceptId ? tx`and id <> ${exceptId}` : tx``}
      limit 1`;
    if (other)
      issues.push({ path: `body/values/${key}`, message: `must be unique: record ${other.id} has it` });
  }
  return issues;
}

export async function insertRecord(
  tx: Queryable,
  input: { workspaceId: string; catalogId: string; values: Record<string, unknown> },
): Promise<RecordRow> {
  const [row] = await tx<RecordRow[]>`
    insert into records (workspace_id, catalog_id, values)
    values (${input.workspaceId}, ${input.catalogId}, ${tx.json(input.values as never)})
    returning *`;
  if (!row) throw new Error('record was not stored');
  return row;
}

export async function updateRecordValues(
  tx: Queryable,
  before: RecordRow,
  values: Record<string, unknown>,
): Promise<RecordRow> {
  const [row] = await tx<RecordRow[]>`
    update records set values = ${tx.json(values as never)}, current_revision = current_revision + 1, updated_at = now()
    where id = ${before.id} returning *`;
  if (!row) throw new Error('record update lost');
  return row;
}

/** Archives a locked record; a bound one is refused (409): delete its cluster first. */
export async function archiveRecord(tx: Queryable, row: RecordRow): Promise<RecordRow> {
  if (row.cluster_id) {
    throw new CommanderError(
      'CONFLICT',
      `the record is bound to cluster ${row.cluster_id}; it is freed when that cluster is deleted`,
    );
  }
  const number = await nextArchiveNumber(tx, 'records', { catalog_id: row.catalog_id });
  const [after] = await tx<RecordRow[]>`
    update records set archived_at = now(), archive_number = ${number},
      current_revision = current_revision + 1, updated_at = now()
    where id = ${row.id} returning *`;
  if (!after) throw new Error('record archive lost');
  return after;
}

export interface Binding {
  /** The catalog parameters' values as the cluster stores them and its template sees them. */
  values: Record<string, unknown>;
  /** Records newly bound to the cluster. */
  bound: string[];
  /** Records the cluster held and no longer names, now free. */
  released: string[];
}

export interface BindingInput {
  workspaceId: string;
  clusterId: string;
  /** The template version's fields (the catalog ones name the catalog by slug). */
  fields: ParamField[];
  references: RecordReference[];
}

/**
 * The catalog parameters' values: each record must be a live record of this workspace, in the
 * catalog the parameter names, and free or already this cluster's; otherwise 422 (a wrong record)
 * or 409 (taken by another cluster), naming the parameter.
 */
function resolve(input: BindingInput, rows: (RecordRow & { slug: string })[]): Record<string, unknown> {
  const fields = new Map(input.fields.map((field) => [field.key, field]));
  const byId = new Map(rows.map((row) => [row.id, row]));
  const invalid: ValueIssue[] = [];
  const taken: ValueIssue[] = [];
  const seen = new Map<string, string>();
  const values: Record<string, unknown> = {};
  for (const reference of input.references) {
    const field = fields.get(reference.key);
    const path = `body/values/${reference.key}`;
    const resolved: Record<string, unknown>[] = [];
    for (const id of reference.recordIds) {
      const row = byId.get(id);
      if (!row || row.archived_at) {
        invalid.push({ path, message: `names record ${id}, which does not exist (or is archived)` });
      } else if (field?.catalog !== row.slug) {
        invalid.push({
          path,
          message: `names record ${id} of catalog "${row.slug}", not "${field?.catalog}"`,
        });
      } else if (seen.has(id)) {
        invalid.push({ path, message: `names record ${id}, which ${seen.get(id)} names too` });
      } else if (row.cluster_id !== null && row.cluster_id !== input.clusterId) {
        taken.push({ path, message: `names record ${id}, which is bound to another cluster` });
      } else {
        resolved.push(recordTemplateValue(row));
      }
      seen.set(id, reference.key);
    }
    values[reference.key] = field && isList(field) ? resolved : resolved[0];
  }
  const describe = (issues: ValueIssue[]) =>
    issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
  if (invalid.length > 0) throw new CommanderError('INVALID_VALUES', describe(invalid), invalid);
  if (taken.length > 0) throw new CommanderError('CONFLICT', describe(taken), taken);
  return values;
}

function idsOf(references: RecordReference[]): string[] {
  return [...new Set(references.flatMap((reference) => reference.recordIds))].sort();
}

/**
 * What the cluster's template will see for its catalog parameters, read without binding (the
 * render comes first, outside the transaction); bindRecords then checks the records still read so.
 */
export async function resolveRecords(sql: Queryable, input: BindingInput): Promise<Record<string, unknown>> {
  if (input.references.length === 0) return {};
  const rows = await sql<(RecordRow & { slug: string })[]>`
    select r.*, c.slug from records r join catalogs c on c.id = r.catalog_id
    where r.id = any(${idsOf(input.references)}::uuid[]) and r.workspace_id = ${input.workspaceId}`;
  return resolve(input, rows);
}

/**
 * Binds the records the cluster's catalog parameters name (see resolve for what is refused), and
 * frees those it named before and no longer does. The rows are locked first, so of two clusters
 * racing for one record the second waits and then finds it taken.
 */
export async function bindRecords(tx: Queryable, input: BindingInput): Promise<Binding> {
  const ids = idsOf(input.references);
  // Locked in id order: two clusters taking overlapping sets cannot deadlock.
  const rows = await tx<(RecordRow & { slug: string })[]>`
    select r.*, c.slug from records r join catalogs c on c.id = r.catalog_id
    where r.id = any(${ids}::uuid[]) and r.workspace_id = ${input.workspaceId}
    order by r.id for update of r`;
  const values = resolve(input, rows);
  const bound = await tx<{ id: string }[]>`
    update records set cluster_id = ${input.clusterId}, updated_at = now()
    where id = any(${ids}::uuid[]) and cluster_id is null returning id`;
  const released = await tx<{ id: string }[]>`
    update records set cluster_id = null, updated_at = now()
    where cluster_id = ${input.clusterId} and not (id = any(${ids}::uuid[])) returning id`;
  return { values, bound: bound.map((row) => row.id), released: released.map((row) => row.id) };
}

/** Frees every record bound to the cluster (it is being deleted); returns their ids. */
export async function releaseRecords(tx: Queryable, clusterId: string): Promise<string[]> {
  const rows = await tx<{ id: string }[]>`
    update records set cluster_id = null, updated_at = now() where cluster_id = ${clusterId} returning id`;
  return rows.map((row) => row.id);
}
