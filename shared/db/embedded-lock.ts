// Who uses a data dir's embedded PostgreSQL, and the lock under which every decision about it
// (create, start, restart, stop) is taken. A process is recognised by its pid and start time, so
// a pid reused after a crash is not mistaken for the process that wrote the file.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<pid> <start time>`; the start time is empty where /proc is not available. */
function identity(pid: number): string {
  return `${pid} ${startTime(pid)}`;
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** True while the process that wrote `text` (an identity) still runs. */
function isRunning(text: string): boolean {
  const [pidText = '', start = ''] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return start === '' || now === '' || now === start;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs fn while holding dataDir/postgres.lock. The lock file is linked into place with its
 * content already written, so it is never seen empty; one whose holder is gone is taken over.
 */
export async function withLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lockFile = join(dataDir, 'postgres.lock');
  const staged = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(staged, `${identity(process.pid)}\n`, { mode: 0o600 });
  const deadline = Date.now() + 120_000;
  try {
    for (;;) {
      try {
        linkSync(staged, lockFile);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let holder: string | undefined;
      try {
        holder = readFileSync(lockFile, 'utf8');
      } catch {
        continue; // released meanwhile: try again
      }
      if (!isRunning(holder)) {
        breakStaleLock(lockFile, holder, `${staged}.stale`);
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`${lockFile} is held by process ${holder.trim().split(' ')[0]} for too long`);
      }
      await sleep(50);
    }
  } finally {
    rmSync(staged, { force: true });
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/**
 * Moves a lock whose holder is gone out of the way. Two waiters may judge the same lock stale:
 * the one that finds it already replaced by the other's lock puts that one back.
 */
function breakStaleLock(lockFile: string, stale: string, aside: string): void {
  try {
    renameSync(lockFile, aside);
  } catch {
    return; // released or broken meanwhile
  }
  try {
    if (readFileSync(aside, 'utf8') !== stale) linkSync(aside, lockFile);
  } catch {
    // Only when a third waiter locked in the same instant; nothing more can be done about it.
  } finally {
    rmSync(aside, { force: true });
  }
}

export type Role = 'owner' | 'client';

/** This process's entry among the server's users; call under the lock. */
export function register(dataDir: string, role: Role): { file: string } {
  const dir = join(dataDir, 'postgres-users');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(file, `${identity(process.pid)} ${role}\n`, { mode: 0o600 });
  return { file };
}

/**
 * The other processes still using the server (entries of processes that are gone are removed);
 * call under the lock.
 */
export function otherUsers(dataDir: string, mine: { file: string }): Array<{ pid: number; role: Role }> {
  const dir = join(dataDir, 'postgres-users');
  // Only a missing entry means "nobody": any other failure to read must not stop a server in use.
  const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if (missing(error)) return [];
    throw error;
  }
  const users: Array<{ pid: number; role: Role }> = [];
  for (const name of names) {
    const file = join(dir, name);
    if (file === mine.file) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (missing(error)) continue; // left meanwhile
      throw error;
    }
    if (!isRunning(text)) {
      rmSync(file, { force: true });
      continue;
    }
    const [pid, , role] = text.trim().split(' ');
    users.push({ pid: Number(pid), role: role === 'owner' ? 'owner' : 'client' });
  }
  return users;
}

export function unregister(entry: { file: string }): void {
  rmSync(entry.file, { force: true });
}
