// A task that fails for good marks its cluster failed in the same transaction: when the mark
// cannot be written, the task is not left "failed" beside a cluster that still looks healthy,
// and the manager says what went wrong instead of swallowing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { Processes, sleep } from './helpers.js';

describe('a failed task and its cluster', () => {
  const processes = new Processes();
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await processes.stopAll();
    await db?.drop();
  });

  it('marks the cluster creation_failed with the failed install, even when the first mark fails', async () => {
    const ws = await ensureWorkspace(db.sql, 'failing');
    // No ssh settings: the install fails for good at once.
    const [cluster] =
      await db.sql`insert into clusters (workspace_id, name) values (${ws.id}, 'no-ssh') returning id`;
    // The first write of the failed status is refused, as a dropped connection or a lock timeout would.
    await db.sql.unsafe(`
      create sequence mark_attempts;
      create function refuse_first_mark() returns trigger language plpgsql as $$
      begin
        if new.status = 'creation_failed' and nextval('mark_attempts') = 1 then
          raise exception 'injected: marking the cluster failed';
        end if;
        return new;
      end $$;
      create trigger refuse_first_mark before update on clusters for each row execute function refuse_first_mark();`);
    const [task] =
      await db.sql`insert into tasks (cluster_id, kind) values (${cluster?.id}, 'install') returning id`;

    const manager = processes.start(['manager'], {
      DATABASE_URL: db.url,
      ...keysEnv(testKeys()),
      COMMANDER_TASK_LEASE_SECONDS: '1',
      COMMANDER_REPLICA_ID: 'failure-test',
    });
    await manager.waitFor(/"msg":"manager ready"/, 30_000);

    const deadline = Date.now() + 30_000;
    for (;;) {
      const [row] = await db.sql`select status from tasks where id = ${task?.id}`;
      if (row?.status === 'failed') break;
      if (Date.now() > deadline)
        throw new Error(`the task is ${row?.status}; manager output:\n${manager.stdout()}`);
      await sleep(100);
    }
    const [state] = await db.sql`select status from clusters where id = ${cluster?.id}`;
    expect(state?.status, manager.stdout()).toBe('creation_failed');
    const [finished] = await db.sql`select error, attempts from tasks where id = ${task?.id}`;
    expect(finished?.error).toMatch(/no ssh settings/);
    // The refused mark was reported, and the task ran again once its lease expired.
    expect(manager.stdout()).toContain('injected: marking the cluster failed');
    expect(finished?.attempts).toBe(2);
    expect(await manager.stop('SIGTERM')).toBe(0);
  });
});
