// Clusters in PostgreSQL as the API reads and writes them: the row, and the statements on it.
// (The manager has its own view in manager/cluster-record.ts; desired resources are in
// desired-state.ts.)
import type { Queryable } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import type { RenderError } from './render.js';
import { RENDERED_FIELDS, type RenderedField } from './template-sections.js';

export interface ConnectionHosts {
  masters: Array<{ host: string; user: string; port: number }>;
}

export interface ClusterRow extends Record<RenderedField, string | null> {
  id: string;
  workspace_id: string;
  name: string;
  values: Record<string, unknown>;
  status: string;
  agent_status: string;
  current_revision: number;
  ssh_host: string | null;
  ssh_port: number | null;
  ssh_user: string | null;
  ssh_private_key: string | null;
  ssh_host_key_fingerprint: string | null;
  allowed_targets: string[];
  last_seen_at: Date | null;
  agent_version: string | null;
  agent_replica: string | null;
  resources_hash: string | null;
  resources_sync_state: string;
  resources_sync_message: string | null;
  resources_reported_at: Date | null;
  resources_report_interval_ms: number | null;
  telemetry: Record<string, unknown> | null;
  telemetry_at: Date | null;
  cluster_template_version_id: string | null;
  cluster_template_version_switched_at: Date | null;
  registry_id: string | null;
  registry_mode: string;
  was_created: boolean;
  cluster_type: string | null;
  connection_hosts: ConnectionHosts | null;
  generated_ssh_public_key: string | null;
  generated_ssh_private_key: string | null;
  render_errors: RenderError[];
  applied_cluster_configuration_rendered: string | null;
  applied_provider_specific_cluster_configuration_rendered: string | null;
  cluster_configuration_applied_at: Date | null;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  archive_number: number | null;
  /** Computed: a task runs for the cluster. */
  is_locked: boolean;
}

/** Columns a write may set (everything but the computed ones). */
export type ClusterColumns = Partial<
  Omit<ClusterRow, 'is_locked' | 'values' | 'connection_hosts' | 'render_errors'>
> & {
  values?: unknown;
  connection_hosts?: unknown;
  render_errors?: unknown;
};

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function nameTaken(error: unknown, name: string | undefined): unknown {
  return isUniqueViolation(error) && name !== undefined
    ? new CommanderError('NAME_TAKEN', `a cluster named "${name}" exists`)
    : error;
}

/** The texts a cluster answers only on its own: rendered and applied configurations. */
export const ANSWERED_TEXTS = [
  ...RENDERED_FIELDS,
  'applied_cluster_configuration_rendered',
  'applied_provider_specific_cluster_configuration_rendered',
] as const;

/** Kilobytes a row that a list does not answer: the texts and the (encrypted) private keys. */
const UNLISTED = [...ANSWERED_TEXTS, 'ssh_private_key', 'generated_ssh_private_key'] as const;

/** A cluster as a list reads it. */
export type ListedCluster = Omit<ClusterRow, (typeof UNLISTED)[number]>;

/**
 * Every column of clusters but the unlisted ones, read from the table once a process: selecting
 * them too made reading 1,000 clusters several times slower. A failed read is tried again next time.
 */
let listedColumns: Promise<string[]> | undefined;
function listedColumnsOf(sql: Queryable): Promise<string[]> {
  listedColumns ??= sql<{ name: string }[]>`
    select attname as name from pg_attribute
    where attrelid = 'clusters'::regclass and attnum > 0 and not attisdropped order by attnum`.then(
    (rows) => rows.map((row) => row.name).filter((name) => !(UNLISTED as readonly string[]).includes(name)),
    (error: unknown) => {
      listedColumns = undefined;
      throw error;
    },
  );
  return listedColumns;
}

export async function listClusters(
  sql: Queryable,
  workspaceId: string,
  withoutArchived: boolean,
): Promise<ListedCluster[]> {
  const columns = await listedColumnsOf(sql);
  return sql<ListedCluster[]>`
    select ${sql(columns)},
      exists (select 1 from tasks t where t.cluster_id = c.id and t.status = 'running') as is_locked
    from clusters c where c.workspace_id = ${workspaceId}
      ${withoutArchived ? sql`and c.archived_at is null` : sql``}
    order by c.created_at, c.id`;
}

/** The cluster in the caller's workspace; `lock` holds its row for the transaction. */
export async function findCluster(
  sql: Queryable,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<ClusterRow> {
  const [row] = await sql<ClusterRow[]>`select c.*,
      exists (select 1 from tasks t where t.cluster_id = c.id and t.status = 'running') as is_locked
    from clusters c where c.id = ${id} and c.workspace_id = ${workspaceId} ${lock ? sql`for update of c` : sql``}`;
  if (!row) throw new CommanderError('NOT_FOUND', `cluster ${id} not found`);
  return row;
}

export async function insertCluster(
  tx: Queryable,
  columns: ClusterColumns & { workspace_id: string; name: string },
): Promise<ClusterRow> {
  try {
    const [row] = await tx<ClusterRow[]>`insert into clusters ${tx(columns as never)}
      returning *, false as is_locked`;
    if (!row) throw new Error('cluster was not stored');
    return row;
  } catch (error) {
    throw nameTaken(error, columns.name);
  }
}

/** Writes the columns, moves the revision on by one unless `bump` is false, returns the row. */
export async function updateCluster(
  tx: Queryable,
  id: string,
  columns: ClusterColumns,
  bump = true,
): Promise<ClusterRow> {
  try {
    const returning = tx`returning *,
      exists (select 1 from tasks t where t.cluster_id = clusters.id and t.status = 'running') as is_locked`;
    const step = bump ? 1 : 0;
    // postgres.js reads `set ${columns}` as an update list only right after `set`.
    const [row] =
      Object.keys(columns).length > 0
        ? await tx<ClusterRow[]>`update clusters set ${tx(columns as never)},
            current_revision = current_revision + ${step}, updated_at = now() where id = ${id} ${returning}`
        : await tx<ClusterRow[]>`update clusters set current_revision = current_revision + ${step},
            updated_at = now() where id = ${id} ${returning}`;
    if (!row) throw new Error('cluster update lost');
    return row;
  } catch (error) {
    throw nameTaken(error, columns.name);
  }
}

/**
 * Queues an install unless one is queued or running, or a reconcile unless one is queued (a
 * running one may have read the configuration this change replaced).
 */
export async function queueTask(
  tx: Queryable,
  clusterId: string,
  kind: 'install' | 'reconcile',
): Promise<void> {
  if (kind === 'install') {
    const [underway] = await tx`select 1 from tasks where cluster_id = ${clusterId} and kind = 'install'
      and status in ('pending', 'running')`;
    if (underway) return;
  }
  // At most one reconcile waits per cluster (tasks_one_pending_reconcile).
  await tx`insert into tasks (cluster_id, kind) values (${clusterId}, ${kind}) on conflict do nothing`;
}

/** Cancels the tasks that have not started: a new configuration or a deletion replaces them. */
export async function cancelPendingTasks(
  tx: Queryable,
  clusterId: string,
  kinds: string[] = ['install', 'reconcile'],
): Promise<void> {
  await tx`update tasks set status = 'cancelled', finished_at = now(), error = 'replaced by a newer request'
    where cluster_id = ${clusterId} and status = 'pending' and kind = any(${kinds}::text[])`;
}

/** Each desired resource of a cluster as the agent last reported it, as Commander's clients read it. */
export async function resourceStateResults(sql: Queryable, clusterId: string) {
  const rows = await sql<
    {
      api_version: string;
      kind: string;
      namespace: string;
      name: string;
      status: string;
      message: string | null;
    }[]
  >`
    select api_version, kind, namespace, name, status, message from cluster_resources
    where cluster_id = ${clusterId} and desired order by position`;
  return rows.map(({ message, ...resource }) => ({
    ...resource,
    errors: resource.status === 'failed' && message ? [message] : [],
  }));
}
