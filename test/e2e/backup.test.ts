// Backup and restore with the stock PostgreSQL tools: pg_dump -Fc, pg_restore --no-owner into an
// empty database, and a gateway with the same keys serves the restored data.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Encryptor } from '../../shared/crypto.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { api, Processes, sshKeyPair, startGatewayProcess, tempDir } from './helpers.js';

const run = promisify(execFile);

function toolVersion(tool: string): string | undefined {
  const result = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const tools = { pg_dump: toolVersion('pg_dump'), pg_restore: toolVersion('pg_restore') };
const missing = Object.entries(tools)
  .filter(([, version]) => version === undefined)
  .map(([tool]) => tool);
// On CI a missing tool is a failure, not a silent skip.
const required = Boolean(process.env.CI);

describe('backup and restore', () => {
  const processes = new Processes();
  const databases: TestDatabase[] = [];
  let dir: ReturnType<typeof tempDir> | undefined;

  afterAll(async () => {
    await processes.stopAll();
    for (const db of databases) await db.drop();
    dir?.remove();
  });

  it.skipIf(missing.length > 0 && !required)(
    `pg_dump -Fc and pg_restore --no-owner keep clusters, tokens and encrypted secrets (${
      missing.length > 0 ? `missing: ${missing.join(', ')}` : tools.pg_dump
    })`,
    async () => {
      if (missing.length > 0) {
        throw new Error(
          `${missing.join(' and ')} not found on PATH: install the PostgreSQL client tools (Debian: postgresql-client)`,
        );
      }
      dir = tempDir('commander-backup-');
      const dataDir = dir.path;
      const keys = testKeys();
      const key = sshKeyPair();
      const source = await freshDatabase();
      databases.push(source);
      const env = (url: string) => ({ DATABASE_URL: url, COMMANDER_DATA_DIR: dataDir, ...keysEnv(keys) });

      const created = await processes.run(
        ['token', 'create', '--workspace', 'ops', '--role', 'admin'],
        env(source.url),
      );
      expect(created.code, created.stderr).toBe(0);
      const token = created.stdout.trim();

      const gateway = await startGatewayProcess(processes, env(source.url));
      const cluster = await api(gateway.url, 'POST', '/api/v1/clusters', {
        token,
        body: {
          name: 'backed-up',
          values: { tier: 'gold' },
          ssh: { host: '10.0.0.1', user: 'root', private_key: key.private },
        },
      });
      expect(cluster.status, cluster.text).toBe(201);
      expect(await gateway.command.stop('SIGTERM')).toBe(0);

      const file = join(dataDir, 'commander.dump');
      await run('pg_dump', ['-Fc', '-d', source.url, '-f', file]);
      const target = await freshDatabase({ migrated: false });
      databases.push(target);
      await run('pg_restore', ['--no-owner', '-d', target.url, file]);

      const restored = await startGatewayProcess(processes, env(target.url));
      // Nothing to migrate: the dump carried schema_migrations.
      expect(restored.command.stdout()).not.toContain('database migrations applied');
      const listed = await api(restored.url, 'GET', '/api/v1/clusters', { token });
      expect(listed.status, listed.text).toBe(200);
      expect(listed.body).toHaveLength(1);
      expect(listed.body[0]).toMatchObject({
        id: cluster.body.id,
        name: 'backed-up',
        values: { tier: 'gold' },
        ssh: { host: '10.0.0.1', port: 22, user: 'root' },
      });
      expect(await restored.command.stop('SIGTERM')).toBe(0);

      const [row] = await target.sql<{ ssh_private_key: string }[]>`
        select ssh_private_key from clusters where id = ${cluster.body.id}`;
      expect(row?.ssh_private_key.startsWith('enc:v1:')).toBe(true);
      expect((await Encryptor.create(keys)).decrypt(row?.ssh_private_key as string)).toBe(key.private);
    },
  );
});
