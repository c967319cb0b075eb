// As root, from a checkout under a 0700 home (a container's /root): PostgreSQL runs as the
// `postgres` user, who cannot reach that checkout's binaries nor its data dir, so both move to a
// place it can reach, and `npm start` (`commander up`) works as written.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_DIR } from '../../shared/db/embedded-place.js';
import { freePort } from '../../shared/net.js';
import { type RunningCommand, startCommand } from '../support/process.js';
import { api, tempDir } from './helpers.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('as root, from a checkout in a 0700 home', () => {
  let home: ReturnType<typeof tempDir>;
  let checkout: string;
  let up: RunningCommand | undefined;
  let relocated: string | undefined;

  /** The checkout's own CLI, run from the checkout with the default data dir (./.commander). */
  const commander = (args: string[], env: Record<string, string> = {}) =>
    startCommand(args, env, [], { cli: join(checkout, 'dist', 'cli', 'main.js'), cwd: checkout });

  beforeAll(() => {
    home = tempDir('commander-root-home-');
    chmodSync(home.path, 0o700);
    checkout = join(home.path, 'commander');
    mkdirSync(checkout);
    // What `npm ci` leaves behind, hard-linked where possible: the path is what counts.
    for (const part of ['package.json', 'dist', 'node_modules', join('shared', 'db', 'migrations')]) {
      try {
        execFileSync('cp', ['-al', join(repo, part), join(checkout, part)], { stdio: 'pipe' });
      } catch {
        cpSync(join(repo, part), join(checkout, part), { recursive: true, verbatimSymlinks: true });
      }
    }
  });

  afterAll(async () => {
    if (up && up.child.exitCode === null) await up.stop('SIGTERM');
    if (relocated) rmSync(relocated, { recursive: true, force: true });
    home?.remove();
  });

  it('starts up: server binaries and cluster live where the postgres user can reach them', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    up = commander(['up'], { COMMANDER_LISTEN: `127.0.0.1:${port}` });
    await up.waitFor(/"msg":"gateway listening"/, 90_000);

    const dataDir = join(checkout, '.commander');
    relocated = readFileSync(join(dataDir, 'postgres-location'), 'utf8').trim();
    expect(relocated.startsWith(`${SHARED_DIR}/data-`)).toBe(true);
    expect(existsSync(join(relocated, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(statSync(relocated).mode & 0o777).toBe(0o700);
    // The server runs from a content-addressed copy of the binaries, not from the checkout.
    const postmasterPid = readFileSync(join(relocated, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0];
    const executable = execFileSync('readlink', [`/proc/${postmasterPid}/exe`], { encoding: 'utf8' }).trim();
    expect(executable).toMatch(new RegExp(`^${SHARED_DIR}/postgres-[0-9a-f]{16}/bin/postgres$`));

    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const listed = await api(base, 'GET', '/api/v1/clusters', { token: adminToken });
    expect(listed.status).toBe(200);

    const token = commander(['token', 'create', '--workspace', 'default', '--role', 'viewer']);
    expect(await token.exited, token.stderr()).toBe(0);
    expect(token.stdout().trim()).toMatch(/^cmdr_/);

    expect(await up.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(relocated, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
