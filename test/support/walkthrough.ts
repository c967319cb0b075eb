// Runs a document's walkthrough as written: its shell blocks, in order, in one bash, against
// `commander up` listening on the walkthrough's own localhost:8080 (a network namespace of its
// own), from a directory where `up` keeps its data in ./.commander as in the README.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../shared/node-flags.js';
import { freshDatabase, type TestDatabase } from './db.js';
import { createNetns, haveNetns, type NetNs } from './netns.js';
import { CLI, type RunningCommand } from './process.js';

export const walkthroughRunnable = haveNetns();

/** Printed after each block: the script's stdout splits into one part per block. */
const MARK = '@@block-done@@';

/** The fenced blocks of a section of docs/<file>, in order. */
export function docBlocks(file: string, heading: string): string[] {
  const doc = readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/${file} has no section "${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

export interface WalkthroughRun {
  status: number | null;
  /** The stdout of each block, in order. */
  outputs: string[];
  /** The end of the script's `set -x` trace: the line it stopped at, when it failed. */
  trace: string;
}

export interface Walkthrough {
  dir: string;
  /** What `up` has printed so far (the audit lines among it). */
  upOutput(): string;
  /**
   * The blocks in one bash, traced. `npx commander …` runs the built CLI, with the database `up`
   * uses (as it would reuse the quick start's embedded one).
   */
  run(blocks: string[]): Promise<WalkthroughRun>;
  stop(): Promise<void>;
}

/** A fresh database, a namespace, and `commander up` in it, ready for the walkthrough. */
export async function startWalkthrough(prefix: string): Promise<Walkthrough> {
  if (!walkthroughRunnable) throw new Error('root with iproute2 (ip netns) is required in CI');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const ns = createNetns();
  let db: TestDatabase | undefined;
  let relay: Server | undefined;
  let up: RunningCommand | undefined;
  const stop = async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
    await new Promise((resolve) => (relay ? relay.close(resolve) : resolve(undefined)));
    ns.remove();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    db = await freshDatabase({ migrated: false });
    // The database listens on the host's loopback: the namespace reaches it through a relay on
    // the host's end of the pair.
    const url = new URL(db.url);
    const target = { host: url.hostname, port: Number(url.port || 5432) };
    const server = createServer((socket) => {
      const upstream = connect(target.port, target.host);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    relay = server;
    await new Promise<void>((resolve) => server.listen(0, ns.hostAddress, resolve));
    url.hostname = ns.hostAddress;
    url.port = String((server.address() as { port: number }).port);
    const databaseUrl = url.toString();
    // Where the quick start's embedded database would have made it (up creates no data dir of its
    // own when DATABASE_URL is set).
    mkdirSync(join(dir, '.commander'), { mode: 0o700 });
    const started = startIn(ns, ['up'], { DATABASE_URL: databaseUrl }, dir);
    up = started;
    await started.waitFor(/gateway listening/, 90_000);
    return {
      dir,
      upOutput: () => started.stdout(),
      run: (blocks) => runBlocks(ns, dir, databaseUrl, blocks),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function runBlocks(
  ns: NetNs,
  dir: string,
  databaseUrl: string,
  blocks: string[],
): Promise<WalkthroughRun> {
  const script = join(dir, 'walkthrough.sh');
  // Traced into a file of its own, so that a failure shows the line it stopped at.
  const trace = join(dir, 'trace.log');
  const preamble = [
    `exec 2>>${trace}`,
    `npx() { if [ "$1" = commander ]; then shift; DATABASE_URL='${databaseUrl}' ${process.execPath} ${NODE_FLAGS.join(' ')} ${CLI} "$@"; else command npx "$@"; fi; }`,
    'set -x',
  ];
  writeFileSync(
    script,
    `${preamble.join('\n')}\n${blocks.map((block) => `${block}echo '${MARK}'\n`).join('')}`,
  );
  // Not spawnSync: the relay to the database runs on this process's event loop.
  const run = await runScript(inNs(ns, ['bash', '--noprofile', '--norc', script]), dir);
  let traced = '';
  try {
    traced = readFileSync(trace, 'utf8').slice(-3000);
  } catch {}
  const outputs = run.stdout.split(`${MARK}\n`);
  return { status: run.status, outputs: outputs.slice(0, blocks.length), trace: `${run.stdout}\n${traced}` };
}

/** Runs to its end (killed after two minutes); its stdout and exit code. */
function runScript(
  [command, argv]: [string, string[]],
  cwd: string,
): Promise<{ stdout: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, {
      cwd,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, status });
    });
  });
}

function inNs(ns: NetNs, argv: string[]): [string, string[]] {
  const [command, ...rest] = [...ns.exec, ...argv] as [string, ...string[]];
  return [command, rest];
}

/** `commander <args>` inside the namespace, in `cwd`, with exactly `env` (plus PATH and HOME). */
function startIn(ns: NetNs, args: string[], env: Record<string, string>, cwd: string): RunningCommand {
  const [command, argv] = inNs(ns, [process.execPath, ...NODE_FLAGS, CLI, ...args]);
  const child = spawn(command, argv, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const watchers = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const watcher of watchers) watcher();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  exited.then(() => {
    for (const watcher of watchers) watcher();
  });
  return {
    child,
    stdout: () => output,
    stderr: () => '',
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (!match) {
            if (child.exitCode !== null) reject(new Error(`exited with ${child.exitCode}:\n${output}`));
            return;
          }
          watchers.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
