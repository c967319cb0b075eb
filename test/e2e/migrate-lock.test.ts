// Migrations on an empty database: replicas starting together apply each one exactly once,
// and `commander migrate` alone brings a database up to date.
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../shared/db/migrate.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { lines, Processes, startGatewayProcess, tempDir } from './helpers.js';

const expectedVersions = loadMigrations().map((m) => m.version);

describe('migrations', () => {
  const processes = new Processes();
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    await processes.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const emptyDatabase = async (): Promise<TestDatabase> => {
    const db = await freshDatabase({ migrated: false });
    cleanups.push(() => db.drop());
    return db;
  };

  const dataDir = (): string => {
    // An empty data dir, so no keys.env from the working directory is picked up.
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    return dir.path;
  };

  const appliedLog = (stdout: string) =>
    lines(stdout)
      .filter((line) => line.includes('"msg":"database migrations applied"'))
      .map((line) => JSON.parse(line).applied as number[]);

  it('two gateways started at the same moment on an empty database both become ready', async () => {
    const db = await emptyDatabase();
    expect(expectedVersions.length).toBeGreaterThan(0);
    const env = { DATABASE_URL: db.url, COMMANDER_DATA_DIR: dataDir(), ...keysEnv(testKeys()) };

    const [a, b] = await Promise.all([
      startGatewayProcess(processes, env),
      startGatewayProcess(processes, env),
    ]);
    expect(a.url).not.toBe(b.url);
    for (const gateway of [a, b]) {
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
      expect(gateway.command.child.exitCode).toBeNull();
    }

    const rows = await db.sql<{ version: number; n: number }[]>`
      select version, count(*)::int as n from schema_migrations group by version order by version`;
    expect(rows.map((r) => r.version)).toEqual(expectedVersions);
    expect(rows.every((r) => r.n === 1)).toBe(true);

    // Exactly one of them applied the migrations; the other found them done.
    const applied = [...appliedLog(a.command.stdout()), ...appliedLog(b.command.stdout())];
    expect(applied).toEqual([expectedVersions]);

    for (const gateway of [a, b]) expect(await gateway.command.stop('SIGTERM')).toBe(0);
  });

  it('`commander migrate` alone fills schema_migrations, exits 0, and is a no-op the second time', async () => {
    const db = await emptyDatabase();
    const env = { DATABASE_URL: db.url, COMMANDER_DATA_DIR: dataDir() };
    const [before] = await db.sql`select to_regclass('schema_migrations') as t`;
    expect(before?.t).toBeNull();

    const first = await processes.run(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    expect(appliedLog(first.stdout)).toEqual([expectedVersions]);
    expect(first.stdout).toContain('"msg":"database is up to date"');

    const rows = await db.sql<{ version: number }[]>`select version from schema_migrations order by version`;
    expect(rows.map((r) => r.version)).toEqual(expectedVersions);
    const [clusters] = await db.sql`select to_regclass('clusters') as t`;
    expect(clusters?.t).toBe('clusters');

    const again = await processes.run(['migrate'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(appliedLog(again.stdout)).toEqual([]);
    const [count] = await db.sql`select count(*)::int as n from schema_migrations`;
    expect(count?.n).toBe(expectedVersions.length);
  });
});
