// The cluster manager's composition root. One replica runs one task at a time; the task
// kinds (install, reconcile, delete) arrive with the manager issue, until then it idles.
import type { Config } from '../shared/config.js';
import type { Database } from '../shared/db/open.js';
import type { Logger } from '../shared/logger.js';

export interface Manager {
  stop(): Promise<void>;
}

export async function startManager(config: Config, logger: Logger, db: Database): Promise<Manager> {
  const [row] = await db.sql`select count(*)::int as pending from tasks where status = 'pending'`;
  logger.info(
    { replica: config.replicaId, pending_tasks: row?.pending },
    'manager ready (no task runners yet: tasks stay pending)',
  );
  return { async stop() {} };
}
