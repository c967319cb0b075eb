// Where the embedded server's binaries and cluster files live. PostgreSQL refuses to run as root,
// so root runs it as the `postgres` user; when that user cannot reach the npm package or the data
// dir (a checkout under a 0700 home, such as a container's /root), they go to SHARED_DIR instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../atomic-file.js';

/** Outside any home directory, persistent, and writable by root: see docs/operations.md. */
export const SHARED_DIR = '/var/lib/commander';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The user the server runs as: the `postgres` user when we are root, else ourselves ({}). */
export interface ServerUser {
  uid?: number;
  gid?: number;
}

export interface ClusterPlace {
  pgdata: string;
  logFile: string;
  /** A directory the server's user can read files from (initdb's password file). */
  scratch: string;
}

/** What to do when the server cannot be run as root here, appended to every such error. */
const ADVICE =
  'run Commander as a user other than root, point COMMANDER_DATA_DIR (and the checkout) at directories the postgres user can traverse, or set DATABASE_URL to a PostgreSQL server';

/** PostgreSQL refuses to run as root, so root runs it as the `postgres` user, creating it if needed. */
export function serverUser(): ServerUser {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // no such user yet
  }
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'pipe' });
    return { uid: id('-u'), gid: id('-g') };
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL cannot run as root and there is no postgres user to run it as (useradd failed: ${firstLine(error)}): create one, or ${ADVICE}`,
    );
  }
}

/** True when the server's user can reach (search) `path`: every directory above it lets it through. */
function canReach(user: ServerUser, path: string): boolean {
  if (user.uid === undefined) return true;
  return spawnSync('test', ['-x', path], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
}

/**
 * The package's binaries, or a copy the server's user can run: one per content (the directory is
 * named by a hash of what it holds), made once and published by an atomic rename.
 */
export function placeBinaries(bin: Binaries, user: ServerUser): Binaries {
  if (canReach(user, bin.postgres)) return bin;
  const native = dirname(dirname(bin.postgres));
  const target = join(SHARED_DIR, `postgres-${contentHash(native).slice(0, 16)}`);
  const placed = {
    initdb: join(target, 'bin', 'initdb'),
    pg_ctl: join(target, 'bin', 'pg_ctl'),
    postgres: join(target, 'bin', 'postgres'),
  };
  if (!existsSync(placed.postgres)) {
    const staging = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      mkdirSync(SHARED_DIR, { recursive: true, mode: 0o755 });
      cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      chmodSync(staging, 0o755);
      try {
        renameSync(staging, target);
      } catch (error) {
        // Another process published the same content first.
        if (!existsSync(placed.postgres)) throw error;
      }
    } catch (error) {
      throw new Error(
        `embedded PostgreSQL runs as the postgres user, who cannot reach ${native}, and copying it to ${SHARED_DIR} failed (${firstLine(error)}): ${ADVICE}`,
      );
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (!canReach(user, placed.postgres)) {
    throw new Error(`embedded PostgreSQL: the postgres user cannot run ${placed.postgres}: ${ADVICE}`);
  }
  return placed;
}

/** sha256 over every path, mode, symlink target and file content below dir, in a fixed order. */
function contentHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (relative: string) => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      const path = join(relative, name);
      const stat = lstatSync(join(dir, path));
      hash.update(`${path}\0${stat.mode & 0o7777}\0`);
      if (stat.isSymbolicLink()) hash.update(`->${readlinkSync(join(dir, path))}\0`);
      else if (stat.isDirectory()) walk(path);
      else hash.update(readFileSync(join(dir, path)));
    }
  };
  walk('');
  return hash.digest('hex');
}

/**
 * Where the cluster of dataDir lives: dataDir/postgres, unless root's server user cannot reach
 * dataDir; then a directory of its own under SHARED_DIR, recorded in dataDir/postgres-location
 * so that every later start finds it. Call under the data dir's lock.
 */
export function placeCluster(dataDir: string, user: ServerUser): ClusterPlace {
  const local: ClusterPlace = {
    pgdata: join(dataDir, 'postgres'),
    logFile: join(dataDir, 'postgres.log'),
    scratch: dataDir,
  };
  const locationFile = join(dataDir, 'postgres-location');
  if (existsSync(locationFile)) {
    const dir = readFileSync(locationFile, 'utf8').trim();
    return { pgdata: join(dir, 'postgres'), logFile: join(dir, 'postgres.log'), scratch: dir };
  }
  if (user.uid === undefined || user.gid === undefined) return local;
  // The server's user needs to pass through the data dir (its own files there stay 0600).
  chmodSync(dataDir, 0o711);
  if (existsSync(join(local.pgdata, 'PG_VERSION')) || canReach(user, dataDir)) return local;
  const dir = join(SHARED_DIR, `data-${randomBytes(8).toString('hex')}`);
  try {
    mkdirSync(SHARED_DIR, { recursive: true, mode: 0o755 });
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, user.uid, user.gid);
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL runs as the postgres user, who cannot reach ${dataDir}, and ${SHARED_DIR} is not writable (${firstLine(error)}): ${ADVICE}`,
    );
  }
  writeFileAtomically(locationFile, `${dir}\n`);
  return { pgdata: join(dir, 'postgres'), logFile: join(dir, 'postgres.log'), scratch: dir };
}

function firstLine(error: unknown): string {
  const text = (error as { stderr?: Buffer | string }).stderr?.toString().trim() || String(error);
  return text.split('\n')[0] ?? text;
}
