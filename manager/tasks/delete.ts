// Delete: run the destroy command straight over SSH, revoke the agent's key, archive the
// cluster (its record and audit history stay) and free its inventory records (each audited as
// this replica's doing). A cluster never installed is archived at once.

import { revokeAgent } from '../../shared/agent-revocation.js';
import { type AuditPrinter, type AuditRecord, recordAudit } from '../../shared/audit.js';
import type { Encryptor } from '../../shared/crypto.js';
import type { Sql } from '../../shared/db/connect.js';
import { releaseRecords } from '../../shared/records.js';
import { archiveCluster, loadCluster, pinHostKey } from '../cluster-record.js';
import { command, type Installers, installerFor } from '../installers.js';
import { connectSsh } from '../ssh.js';
import type { TaskHandler } from '../worker.js';

export interface DeleteDeps {
  sql: Sql;
  encryptor: Encryptor;
  installers: Installers;
  printAudit: AuditPrinter;
}

export function deleteTask(deps: DeleteDeps): TaskHandler {
  return async ({ task, log, signal, secret, replica }) => {
    const { sql } = deps;
    const cluster = await loadCluster(sql, deps.encryptor, task.cluster_id);
    if (cluster.ssh) secret(cluster.ssh.privateKey);
    const [installed] =
      await sql`select 1 from tasks where cluster_id = ${cluster.id} and kind = 'install' and status = 'succeeded'`;
    const [enrolled] = await sql`select 1 from agents where cluster_id = ${cluster.id}`;
    if (cluster.ssh && (installed || enrolled)) {
      const { installer } = installerFor(deps.installers, cluster.values);
      await log(`connecting to ${cluster.ssh.user}@${cluster.ssh.host}:${cluster.ssh.port}`);
      const ssh = await connectSsh(cluster.ssh);
      try {
        if (!cluster.ssh.hostKeyFingerprint) await pinHostKey(sql, cluster.id, ssh.fingerprint);
        // The bundle the install uploaded, in the remote user's home.
        const run = command(installer.destroy, `$HOME/.commander/bundle-${cluster.id}`);
        await log(`running: ${run}`);
        await ssh.run('destroy command', run, (line) => void log(`| ${line}`), signal);
      } finally {
        ssh.close();
      }
    } else {
      await log('the cluster was never installed: archiving without SSH');
    }
    const { freed, audits } = await sql.begin(async (tx) => {
      await revokeAgent(tx, cluster.id);
      await archiveCluster(tx, cluster.id);
      const ids = await releaseRecords(tx, cluster.id);
      const [workspace] = await tx<{ id: string; slug: string }[]>`
        select w.id, w.slug from clusters c join workspaces w on w.id = c.workspace_id where c.id = ${cluster.id}`;
      const records: AuditRecord[] = [];
      for (const id of ids) {
        records.push(
          await recordAudit(
            tx,
            {
              userType: 'System',
              userName: `manager ${replica}`,
              remoteAddress: null,
              requestUuid: task.id,
              workspaceId: workspace?.id ?? null,
              workspaceSlug: workspace?.slug ?? null,
            },
            {
              auditableType: 'Record',
              auditableId: id,
              action: 'update',
              changes: { cluster_id: [cluster.id, null] },
            },
          ),
        );
      }
      return { freed: ids, audits: records };
    });
    if (audits.length > 0) deps.printAudit(...audits);
    if (freed.length > 0) await log(`freed inventory records ${freed.join(', ')}`);
    await log('deleted (archived)');
  };
}
