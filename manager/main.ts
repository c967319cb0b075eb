// The cluster manager's composition root: one replica, one task at a time.
import { stdoutAuditPrinter } from '../shared/audit.js';
import { FAILED_STATUS } from '../shared/cluster-status.js';
import type { Config } from '../shared/config.js';
import type { Database } from '../shared/db/open.js';
import { readCaFile } from '../shared/gateway-trust.js';
import type { Logger } from '../shared/logger.js';
import { signingKeyLoader } from '../shared/signing-key.js';
import { setStatus } from './cluster-record.js';
import { loadInstallers } from './installers.js';
import { TaskQueue } from './queue.js';
import { scheduleReconciles } from './scheduler.js';
import { deleteTask } from './tasks/delete.js';
import { installTask } from './tasks/install.js';
import { noopTask } from './tasks/noop.js';
import { reconcileTask } from './tasks/reconcile.js';
import { Worker } from './worker.js';

export interface Manager {
  stop(): Promise<void>;
}

export async function startManager(config: Config, logger: Logger, db: Database): Promise<Manager> {
  const { sql, encryptor } = db;
  if (!encryptor) throw new Error('the manager needs encryption keys');
  const installers = loadInstallers(config.installersFile);
  const signingKey = signingKeyLoader(sql, encryptor);
  const queue = new TaskQueue(sql, config.replicaId, config.taskLeaseMs);
  const worker = new Worker({
    sql,
    queue,
    logger,
    handlers: {
      noop: noopTask,
      install: installTask({
        sql,
        encryptor,
        signingKey,
        installers,
        publicUrl: config.publicUrl,
        agentImage: config.agentImage,
        agentWaitMs: config.agentWaitMs,
      }),
      delete: deleteTask({ sql, encryptor, installers, printAudit: stdoutAuditPrinter() }),
      reconcile: reconcileTask({
        sql,
        encryptor,
        signingKey,
        installers,
        gatewayUrl: config.gatewayUrl,
        gatewayCa: config.gatewayCaFile ? readCaFile(config.gatewayCaFile, 'COMMANDER_CA_FILE') : undefined,
        printAudit: stdoutAuditPrinter(),
      }),
    },
    onFailed: async (tx, task) => {
      const status = FAILED_STATUS[task.kind as keyof typeof FAILED_STATUS];
      if (status) await setStatus(tx, task.cluster_id, status);
    },
  });
  await worker.start();
  const stopScheduling = scheduleReconciles(sql, logger, config.checkIntervalMs);
  logger.info(
    { replica: config.replicaId, lease_ms: config.taskLeaseMs, installers: [...installers.byVersion.keys()] },
    'manager ready',
  );
  return {
    async stop() {
      stopScheduling();
      await worker.stop();
    },
  };
}
