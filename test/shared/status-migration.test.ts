// Migration 0008 moves stored clusters to Commander's status words, and marks the clusters that
// were installed as created.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../shared/db/migrate.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('migration 0008: status words', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase({ migrated: false });
  });
  afterAll(() => db?.drop());

  it('renames every old status, and sets was_created where an install succeeded or an agent enrolled', async () => {
    await migrate(
      db.sql,
      loadMigrations().filter((migration) => migration.version < 8),
    );
    const [ws] = await db.sql`insert into workspaces (slug) values ('old') returning id`;
    const old = [
      'new',
      'creating',
      'in_sync',
      'out_of_sync',
      'changing',
      'creation_error',
      'change_error',
      'deleting',
      'deletion_error',
      'archived',
    ];
    for (const status of old) {
      await db.sql`insert into clusters (workspace_id, name, status, archived_at)
        values (${ws?.id}, ${status}, ${status}, ${status === 'archived' ? db.sql`now()` : null})`;
    }
    const [installed] = await db.sql`select id from clusters where name = 'in_sync'`;
    await db.sql`insert into tasks (cluster_id, kind, status) values (${installed?.id}, 'install', 'succeeded')`;
    const [enrolled] = await db.sql`select id from clusters where name = 'out_of_sync'`;
    await db.sql`insert into agents (cluster_id, public_key) values (${enrolled?.id}, 'AAAA')`;

    expect(await migrate(db.sql)).toContain(8);
    const rows = await db.sql<{ name: string; status: string; was_created: boolean }[]>`
      select name, status, was_created from clusters order by name`;
    expect(Object.fromEntries(rows.map((row) => [row.name, row.status]))).toEqual({
      new: 'new',
      creating: 'creating',
      in_sync: 'in_sync',
      out_of_sync: 'changing',
      changing: 'changing',
      creation_error: 'creation_failed',
      change_error: 'change_failed',
      deleting: 'delete',
      deletion_error: 'deletion_failed',
      archived: 'deleted',
    });
    expect(
      rows
        .filter((row) => row.was_created)
        .map((row) => row.name)
        .sort(),
    ).toEqual(['in_sync', 'out_of_sync']);
    // The old words are refused from now on.
    await expect(db.sql`update clusters set status = 'archived' where name = 'new'`).rejects.toThrow(
      /clusters_status_check/,
    );
  });
});
