// What the manager reads and writes of a cluster: its SSH settings (key decrypted only here),
// its status, and the host key pinned on first contact.
import type { Encryptor } from '../shared/crypto.js';
import type { Queryable, Sql } from '../shared/db/connect.js';
import type { SshTarget } from './ssh.js';
import { PermanentError } from './worker.js';

export interface ClusterRecord {
  id: string;
  name: string;
  values: Record<string, unknown>;
  status: string;
  agentStatus: string;
  allowedTargets: string[];
  ssh?: SshTarget;
}

export async function loadCluster(sql: Sql, encryptor: Encryptor, id: string): Promise<ClusterRecord> {
  const [row] =
    await sql`select id, name, values, status, agent_status, allowed_targets, ssh_host, ssh_port, ssh_user,
      ssh_private_key, ssh_host_key_fingerprint from clusters where id = ${id}`;
  if (!row) throw new PermanentError(`cluster ${id} no longer exists`);
  return {
    id: row.id,
    name: row.name,
    values: row.values ?? {},
    status: row.status,
    agentStatus: row.agent_status,
    allowedTargets: row.allowed_targets,
    ssh: row.ssh_host
      ? {
          host: row.ssh_host,
          port: row.ssh_port,
          user: row.ssh_user,
          privateKey: encryptor.decrypt(row.ssh_private_key),
          hostKeyFingerprint: row.ssh_host_key_fingerprint,
        }
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
