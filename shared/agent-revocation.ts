// Revoking an agent's key: recorded in PostgreSQL and announced to every gateway replica,
// whichever program revokes (the API, or the manager deleting a cluster).
import type { Queryable } from './db/connect.js';

export const AGENT_REVOKED_CHANNEL = 'commander_agent_revoked';

/** Revokes the key (if not yet) and tells every replica to close the agent's session at once. */
export async function revokeAgent(sql: Queryable, clusterId: string): Promise<boolean> {
  const [row] =
    await sql`update agents set revoked_at = now() where cluster_id = ${clusterId} and revoked_at is null
    returning cluster_id`;
  await sql`select pg_notify(${AGENT_REVOKED_CHANNEL}, ${clusterId})`;
  return Boolean(row);
}
