// The cluster manager's composition root: one replica, one task at a time.
import type { Config } from '../shared/config.js';
import type { Database } from '../shared/db/open.js';
import type { Logger } from '../shared/logger.js';
import { TaskQueue } from './queue.js';
import { noopTask } from './tasks/noop.js';
import { Worker } from './worker.js';

export interface Manager {
  stop(): Promise<void>;
}

export async function startManager(config: Config, logger: Logger, db: Database): Promise<Manager> {
  const queue = new TaskQueue(db.sql, config.replicaId, config.taskLeaseMs);
  const worker = new Worker({ sql: db.sql, queue, logger, handlers: { noop: noopTask } });
  await worker.start();
  logger.info({ replica: config.replicaId, lease_ms: config.taskLeaseMs }, 'manager ready');
  return { stop: () => worker.stop() };
}
