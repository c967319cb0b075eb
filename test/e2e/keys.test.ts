// Encryption keys end to end: secrets are stored encrypted, wrong or missing keys refuse to
// start, and rotation (a new key appended) keeps old data readable and writes with the new key.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptionKeys } from '../../shared/config.js';
import { Encryptor, generateKeys } from '../../shared/crypto.js';
import { checkEncryptionKeys } from '../../shared/db/key-check.js';
import { SETUP_LOCK } from '../../shared/db/migrate.js';
import { formatKeys } from '../../shared/db/open.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { keysEnv, testKeys } from '../support/keys.js';
import { api, lines, Processes, sleep, sshKeyPair, startGatewayProcess, tempDir } from './helpers.js';

describe('encryption keys', () => {
  const processes = new Processes();
  let dir: ReturnType<typeof tempDir>;
  const k1 = testKeys();
  const k2 = testKeys();
  const rotated: EncryptionKeys = {
    ...k1,
    primaryKeys: [...k1.primaryKeys, randomBytes(32).toString('base64url')],
  };
  const firstKey = sshKeyPair();
  const secondKey = sshKeyPair();
  let db: TestDatabase;
  let token: string;
  let oldClusterId: string;
  let oldCiphertext: string;

  const env = (keys?: EncryptionKeys): Record<string, string> => ({
    DATABASE_URL: db.url,
    // An empty data dir: keys come only from what each test passes.
    COMMANDER_DATA_DIR: dir.path,
    ...(keys ? keysEnv(keys) : {}),
  });

  const storedKey = async (id: string): Promise<string> => {
    const [row] = await db.sql<{ ssh_private_key: string }[]>`
      select ssh_private_key from clusters where id = ${id}`;
    return row?.ssh_private_key as string;
  };

  const keyChecks = async () =>
    (await db.sql<{ key_id: string }[]>`select key_id from encryption_key_checks order by key_id`).map(
      (r) => r.key_id,
    );

  /**
   * Exit 2 and one line. A server that went on serving instead fails at run()'s timeout; how
   * soon the refusal comes is not timed here.
   */
  const expectRefusal = (
    result: { code: number | null; stdout: string; stderr: string },
    pattern: RegExp,
  ) => {
    expect(result.code, result.stdout + result.stderr).toBe(2);
    const errorLines = lines(result.stderr);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^commander: /);
    expect(errorLines[0]).toMatch(pattern);
  };

  beforeAll(async () => {
    dir = tempDir('commander-keys-');
    db = await freshDatabase();
  });

  afterAll(async () => {
    await processes.stopAll();
    await db?.drop();
    dir?.remove();
  });

  it('stores the ssh private key encrypted, never in plain text', async () => {
    const created = await processes.run(
      ['token', 'create', '--workspace', 'keys', '--role', 'operator'],
      env(k1),
    );
    expect(created.code, created.stderr).toBe(0);
    token = created.stdout.trim();

    const gateway = await startGatewayProcess(processes, env(k1));
    const response = await api(gateway.url, 'POST', '/api/v1/clusters', {
      token,
      body: { name: 'with-ssh', ssh: { host: '10.0.0.1', user: 'root', private_key: firstKey.private } },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.body.ssh).toMatchObject({ host: '10.0.0.1', port: 22, user: 'root' });
    expect(response.text).not.toContain('PRIVATE KEY');
    oldClusterId = response.body.id;
    expect(await gateway.command.stop('SIGTERM')).toBe(0);
    expect(gateway.command.stdout()).not.toContain(lines(firstKey.private)[1] as string);

    oldCiphertext = await storedKey(oldClusterId);
    expect(oldCiphertext.startsWith('enc:v1:')).toBe(true);
    expect(oldCiphertext).not.toContain(firstKey.private);
    const keyLines = lines(firstKey.private).map((line) => line.trim());
    expect(keyLines.length).toBeGreaterThan(2);
    for (const line of keyLines) expect(oldCiphertext).not.toContain(line);
    expect((await Encryptor.create(k1)).decrypt(oldCiphertext)).toBe(firstKey.private);
  });

  it('refuses to start with other keys: exit 2 and one line saying they cannot read this database', async () => {
    const checksBefore = await keyChecks();
    const result = await processes.run(['gateway'], { ...env(k2), COMMANDER_LISTEN: '127.0.0.1:0' });
    expectRefusal(result, /keys .*cannot read this database/);
    expect(result.stderr).not.toContain(k2.primaryKeys[0] as string);
    // Nothing was written with the wrong keys.
    expect(await keyChecks()).toEqual(checksBefore);
  });

  it('refuses to start without keys: exit 2 and one line saying the keys are missing', async () => {
    const result = await processes.run(['gateway'], { ...env(), COMMANDER_LISTEN: '127.0.0.1:0' });
    expectRefusal(result, /encrypted data but no encryption keys are configured/);
    expect(result.stderr).toContain('COMMANDER_ENCRYPTION_PRIMARY_KEY');
  });

  it('`migrate` refuses wrong keys too (exit 2)', async () => {
    const result = await processes.run(['migrate'], env(k2));
    expectRefusal(result, /cannot read this database/);
  });

  it('rotates: old values still read, new values use the new key that the old keys cannot open', async () => {
    const gateway = await startGatewayProcess(processes, env(rotated));
    const old = await api(gateway.url, 'GET', `/api/v1/clusters/${oldClusterId}`, { token });
    expect(old.status).toBe(200);
    expect(old.body.ssh).toMatchObject({ host: '10.0.0.1', user: 'root' });

    const withRotated = await Encryptor.create(rotated);
    expect(await storedKey(oldClusterId)).toBe(oldCiphertext);
    expect(withRotated.decrypt(oldCiphertext)).toBe(firstKey.private);

    const response = await api(gateway.url, 'POST', '/api/v1/clusters', {
      token,
      body: {
        name: 'after-rotation',
        ssh: { host: '10.0.0.2', user: 'root', private_key: secondKey.private },
      },
    });
    expect(response.status, response.text).toBe(201);
    expect(await gateway.command.stop('SIGTERM')).toBe(0);

    const newCiphertext = await storedKey(response.body.id);
    expect(newCiphertext.startsWith('enc:v1:r:')).toBe(true);
    const oldKeyId = oldCiphertext.split(':')[3];
    const newKeyId = newCiphertext.split(':')[3];
    expect(newKeyId).toMatch(/^[0-9a-f]{12}$/);
    expect(newKeyId).not.toBe(oldKeyId);
    expect(newKeyId).toBe(withRotated.currentKeyIds.random);
    expect(withRotated.decrypt(newCiphertext)).toBe(secondKey.private);
    const withK1 = await Encryptor.create(k1);
    expect(() => withK1.decrypt(newCiphertext)).toThrow(/not configured/);

    // The new key left its check row, so K1 alone is now refused as well.
    expect(await keyChecks()).toContain(newKeyId);
    const stale = await processes.run(['migrate'], env(k1));
    expectRefusal(stale, new RegExp(`cannot read this database.*random key ${newKeyId}`));
  });
});

describe('keys.env written while another command starts', () => {
  const processes = new Processes();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    await processes.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  // `up` creates keys.env and the key check rows under the setup lock. A command that started
  // before the file existed must read it once it gets the lock, not what it saw at start.
  it('a command that started before keys.env existed reads the keys written meanwhile', async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const dir = tempDir('commander-keys-race-');
    cleanups.push(() => dir.remove());
    const lock = await db.sql.reserve();
    cleanups.push(() => lock.release());
    await lock`select pg_advisory_lock(${SETUP_LOCK})`;

    const token = processes.run(['token', 'create', '--workspace', 'race', '--role', 'viewer'], {
      DATABASE_URL: db.url,
      COMMANDER_DATA_DIR: dir.path,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [waiting] =
        await db.sql`select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
        where l.locktype = 'advisory' and not l.granted and a.application_name = 'commander-token'`;
      if (waiting?.n) break;
      if (Date.now() > deadline) throw new Error('token create never waited for the setup lock');
      await sleep(50);
    }
    // Meanwhile, as \`up\` does on its first start: the keys, then their check rows.
    const keys = generateKeys();
    writeFileSync(join(dir.path, 'keys.env'), formatKeys(keys), { mode: 0o600 });
    await checkEncryptionKeys(db.sql, await Encryptor.create(keys));
    await lock`select pg_advisory_unlock(${SETUP_LOCK})`;

    const created = await token;
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^cmdr_/);
    expect(created.stderr).not.toContain(keys.primaryKeys[0] as string);
  });
});
