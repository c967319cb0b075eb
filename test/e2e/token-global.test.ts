// `commander token create --global`: a token of no workspace, stored as a hash, audited on stderr.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { Processes, tempDir } from './helpers.js';

describe('commander token create --global', () => {
  const processes = new Processes();
  const dir = tempDir('commander-global-token-');
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await processes.stopAll();
    await db?.drop();
    dir.remove();
  });

  it('prints only the token, stores its hash with no workspace, and audits it', async () => {
    const env = { DATABASE_URL: db.url, COMMANDER_DATA_DIR: dir.path, ...keysEnv(testKeys()) };
    const result = await processes.run(
      ['token', 'create', '--global', '--role', 'global_admin', '--name', 'fleet bot'],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const token = result.stdout.trim();
    expect(result.stdout).toBe(`${token}\n`);
    expect(token).toMatch(/^cmdr_[A-Za-z0-9_-]{43}$/);
    const [row] = await db.sql`select workspace_id, role, name, token_hash from api_tokens`;
    expect(row).toMatchObject({ workspace_id: null, role: 'global_admin', name: 'fleet bot' });
    expect(row?.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(await db.sql`select count(*)::int as n from workspaces`).toEqual([{ n: 0 }]);
    const audit = result.stderr.split('\n').find((line) => line.includes('[audit]'));
    expect(JSON.parse(audit?.slice(audit.indexOf('{')) ?? '{}')).toMatchObject({
      auditable_type: 'AuthToken',
      action: 'create',
      user_type: 'System',
      workspace_slug: null,
      audited_changes: { name: 'fleet bot', role: 'global_admin', global: true },
    });
    expect(result.stderr).not.toContain(token);
  });
});
