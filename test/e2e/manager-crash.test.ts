// Crash safety of the task queue with real manager processes: 4 replicas, 200 tasks over 50
// clusters and one long task, the replica running the long one killed with SIGKILL mid-task.
// Every task finishes, none runs twice at the same time, and no cluster ever has two tasks
// running at once.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import type { RunningCommand } from '../support/process.js';
import { Processes, sleep } from './helpers.js';

interface Run {
  task: string;
  cluster: string;
  replica: string;
  start: number;
  end?: number;
}

describe('manager crash safety', () => {
  const processes = new Processes();
  let db: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await freshDatabase();
    env = { DATABASE_URL: db.url, ...keysEnv(testKeys()), COMMANDER_TASK_LEASE_SECONDS: '1' };
  });
  afterAll(async () => {
    await processes.stopAll();
    await db.drop();
  });

  it('finishes every task exactly once at a time across 4 replicas, one of them killed', async () => {
    const ws = await ensureWorkspace(db.sql, 'crash');
    const clusters = await db.sql`insert into clusters (workspace_id, name)
      select ${ws.id}, 'c' || n from generate_series(1, 50) n returning id`;
    const [longCluster] = await db.sql`insert into clusters (workspace_id, name)
      values (${ws.id}, 'long') returning id`;
    const replicas: RunningCommand[] = [];
    for (let i = 0; i < 4; i += 1) {
      const replica = processes.start(['manager'], { ...env, COMMANDER_REPLICA_ID: `r${i}` });
      await replica.waitFor(/"msg":"manager ready"/, 30_000);
      replicas.push(replica);
    }
    // First a task long enough to be sure of killing its replica in the middle of it, then 200
    // tasks, 4 per cluster, each taking a little while.
    const [long] = await db.sql`insert into tasks (cluster_id, kind, params)
      values (${longCluster?.id}, 'noop', ${db.sql.json({ sleep_ms: 3000 })}) returning id`;
    for (let round = 0; round < 4; round += 1) {
      await db.sql`insert into tasks (cluster_id, kind, params)
        select id, 'noop', ${db.sql.json({ sleep_ms: 40 })} from clusters where id in ${db.sql(clusters.map((c) => c.id))}`;
    }
    // Kill the replica that runs the long task, once it has started it (its log says so).
    const owner = await vi.waitFor(
      async () => {
        const [row] = await db.sql<{ lease_owner: string | null }[]>`
          select lease_owner from tasks where id = ${long?.id} and status = 'running' and log like '%noop start%'`;
        if (!row?.lease_owner) throw new Error('the long task has not started');
        return row.lease_owner;
      },
      { timeout: 30_000, interval: 20 },
    );
    const victim = replicas[Number(owner.slice(1))] as RunningCommand;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Still running when it died: it had no chance to finish.
    const [held] = await db.sql`select status, lease_owner from tasks where id = ${long?.id}`;
    expect(held).toMatchObject({ status: 'running', lease_owner: owner });

    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await db.sql`select count(*) filter (where status = 'succeeded')::int as done,
        count(*) filter (where status in ('failed', 'cancelled'))::int as bad from tasks`;
      expect(row?.bad).toBe(0);
      if (row?.done === 201) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.done} of 201 tasks finished`);
      await sleep(200);
    }

    // Rebuild every run from the task logs: "<time> noop start attempt=N replica=R" ... "noop finish".
    const tasks = await db.sql<{ id: string; cluster_id: string; log: string; attempts: number }[]>`
      select id, cluster_id, log, attempts from tasks`;
    const runs: Run[] = [];
    for (const task of tasks) {
      const open = new Map<string, Run>();
      for (const line of task.log.split('\n').filter(Boolean)) {
        const match = /^(\S+) noop (start|finish)(?: attempt=\d+)? replica=(\S+)$/.exec(line);
        if (!match) continue;
        const [, time, what, replica] = match as unknown as [string, string, string, string];
        if (what === 'start') {
          const run: Run = { task: task.id, cluster: task.cluster_id, replica, start: Date.parse(time) };
          open.set(replica, run);
          runs.push(run);
        } else {
          const run = open.get(replica);
          if (run) run.end = Date.parse(time);
        }
      }
    }
    const killedRuns = runs.filter((run) => run.end === undefined);
    // The killed replica's run of the long task is the only one without an end; it ended when it died.
    expect(killedRuns.map((run) => [run.task, run.replica])).toEqual([[long?.id, owner]]);
    for (const run of killedRuns) run.end = killedAt;
    expect(runs.filter((run) => run.end !== killedAt)).toHaveLength(201);
    // Taken-over tasks ran more than once, but never at the same time.
    const overlaps = (key: (run: Run) => string) => {
      const groups = new Map<string, Run[]>();
      for (const run of runs) groups.set(key(run), [...(groups.get(key(run)) ?? []), run]);
      let count = 0;
      for (const group of groups.values()) {
        group.sort((a, b) => a.start - b.start);
        for (let i = 1; i < group.length; i += 1) {
          if ((group[i] as Run).start < ((group[i - 1] as Run).end as number)) count += 1;
        }
      }
      return count;
    };
    expect(overlaps((run) => run.task)).toBe(0);
    expect(overlaps((run) => run.cluster)).toBe(0);
    // The task the victim held was taken over by another replica once its lease expired.
    const longRuns = runs.filter((run) => run.task === long?.id);
    expect(longRuns).toHaveLength(2);
    expect(longRuns[1]?.replica).not.toBe(owner);
    expect(tasks.find((task) => task.id === long?.id)?.attempts).toBe(2);
    // The survivors shared the work.
    const byReplica = new Set(runs.map((run) => run.replica));
    expect(byReplica.size).toBeGreaterThanOrEqual(3);
  });
});
