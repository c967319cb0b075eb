// What the manager reads and writes of a cluster: where to connect (its connection hosts, the key
// decrypted only here), its rendered configuration, its status, the host key pinned on first
// contact, and what a finished install, converge or deletion records.
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import type { SshTarget } from './ssh.js';
import { PermanentError } from './worker.js';

/** A cluster's rendered configuration, by the name of its bundle file. */
export type Configuration = Record<string, string>;

export interface ClusterRecord {
  id: string;
  name: string;
  values: Record<string, unknown>;
  status: string;
  agentStatus: string;
  allowedTargets: string[];
  wasCreated: boolean;
  /** The first master: the host that answered the install (or the only one given). */
  ssh?: SshTarget;
  /** Every master to try, in order, the first master first. */
  hosts: SshTarget[];
  /** Made from a template version: its rendered configuration for the installer. */
  configuration?: Configuration;
  /** The configuration columns as stored (encrypted or not): what a success records as applied. */
  stored: { cluster: string | null; provider: string | null };
}

/** Bundle file → cluster column. Documented in docs/operations.md ("Installers"). */
export const CONFIGURATION_FILES = {
  'cluster-configuration.yaml': 'desired_cluster_configuration_rendered',
  'provider-specific-cluster-configuration.yaml': 'desired_provider_specific_cluster_configuration_rendered',
  'init-configuration.yaml': 'init_configuration_rendered',
  'init-resources.yaml': 'init_resources_rendered',
  'resources.yaml': 'desired_resources_rendered',
} as const;

interface Master {
  host: string;
  user: string;
  port: number;
}

export async function loadCluster(sql: Sql, encryptor: Encryptor, id: string): Promise<ClusterRecord> {
  const [row] =
    await sql`select id, name, values, status, agent_status, allowed_targets, was_created, ssh_host,
      ssh_port, ssh_user, ssh_private_key, ssh_host_key_fingerprint, connection_hosts, cluster_template_version_id,
      ${sql(Object.values(CONFIGURATION_FILES))}
    from clusters where id = ${id}`;
  if (!row) throw new PermanentError(`cluster ${id} no longer exists`);
  const privateKey = row.ssh_private_key ? encryptor.decrypt(row.ssh_private_key) : undefined;
  const ssh: SshTarget | undefined =
    row.ssh_host && privateKey
      ? {
          host: row.ssh_host,
          port: row.ssh_port,
          user: row.ssh_user,
          privateKey,
          hostKeyFingerprint: row.ssh_host_key_fingerprint,
        }
      : undefined;
  const masters: Master[] = row.connection_hosts?.masters ?? [];
  const others = masters
    .filter((master) => !(ssh && master.host === ssh.host && master.port === ssh.port))
    .map((master) => ({ ...master, privateKey: privateKey as string, hostKeyFingerprint: null }));
  const text = (value: string | null) =>
    value?.startsWith('enc:') ? encryptor.decrypt(value) : (value ?? '');
  return {
    id: row.id,
    name: row.name,
    values: row.values ?? {},
    status: row.status,
    agentStatus: row.agent_status,
    allowedTargets: row.allowed_targets,
    wasCreated: row.was_created,
    ssh,
    hosts: ssh ? [ssh, ...(privateKey ? others : [])] : [],
    stored: {
      cluster: row.desired_cluster_configuration_rendered,
      provider: row.desired_provider_specific_cluster_configuration_rendered,
    },
    configuration: row.cluster_template_version_id
      ? Object.fromEntries(
          Object.entries(CONFIGURATION_FILES).map(([file, column]) => [file, text(row[column])]),
        )
      : undefined,
  };
}

export async function setStatus(sql: Queryable, id: string, status: string): Promise<void> {
  await sql`update clusters set status = ${status}, updated_at = now() where id = ${id}`;
}

/** Trust on first use: store the fingerprint unless one is pinned already. */
export async function pinHostKey(sql: Sql, id: string, fingerprint: string): Promise<void> {
  await sql`update clusters set ssh_host_key_fingerprint = ${fingerprint}
    where id = ${id} and ssh_host_key_fingerprint is null`;
}

/** The master that answered becomes the first master: later tasks connect to it. */
export async function chooseFirstMaster(
  sql: Sql,
  id: string,
  master: SshTarget,
  fingerprint: string,
): Promise<void> {
  await sql`update clusters set ssh_host = ${master.host}, ssh_port = ${master.port}, ssh_user = ${master.user},
      ssh_host_key_fingerprint = ${fingerprint}
    where id = ${id}`;
}

/**
 * An install or converge that succeeded: the status, and the configuration it ran with as the
 * applied one (a change made meanwhile is not applied yet: the next check finds it).
 */
export async function markApplied(
  sql: Queryable,
  cluster: Pick<ClusterRecord, 'id' | 'configuration' | 'stored'>,
  status: string,
  extra: { created?: boolean } = {},
): Promise<void> {
  const applied = cluster.configuration
    ? sql`, applied_cluster_configuration_rendered = ${cluster.stored.cluster},
        applied_provider_specific_cluster_configuration_rendered = ${cluster.stored.provider},
        cluster_configuration_applied_at = now()`
    : sql``;
  await sql`update clusters set status = ${status}, updated_at = now()
      ${extra.created ? sql`, was_created = true` : sql``} ${applied}
    where id = ${cluster.id}`;
}

/** A deleted cluster is archived: it reads `deleted`, and its number tells it from others of its name. */
export async function archiveCluster(tx: Queryable, id: string): Promise<void> {
  await tx`update clusters c set status = 'deleted', archived_at = now(), updated_at = now(),
      archive_number = (select coalesce(max(o.archive_number), 0) + 1 from clusters o
        where o.workspace_id = c.workspace_id and o.name = c.name and o.archived_at is not null)
    where c.id = ${id}`;
}
