// Runs the built `commander` CLI as a real child process and watches its output.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../shared/node-flags.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface RunningCommand {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the output (stdout + stderr) matches, rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `commander <args>` with exactly the environment given (plus PATH and HOME); `prefix`
 * wraps it in another command that execs it, such as `ip netns exec <name>`. `options.cli` runs
 * another build of the CLI (a copy of the checkout), in `options.cwd`.
 */
export function startCommand(
  args: string[],
  env: Record<string, string | undefined>,
  prefix: string[] = [],
  options: { cli?: string; cwd?: string } = {},
): RunningCommand {
  const [command = process.execPath, ...argv] = [
    ...prefix,
    process.execPath,
    ...NODE_FLAGS,
    options.cli ?? CLI,
    ...args,
  ];
  const child = spawn(command, argv, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of watchers) watcher();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    notify();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  exited.then(() => {
    done = true;
    notify();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}\n${err}`));
        }, timeoutMs);
        const check = () => {
          const match = (out + err).match(pattern);
          if (match || done) {
            watchers.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`process exited before ${pattern}; output:\n${out}\n${err}`));
          }
        };
        watchers.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion. */
export async function runCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = startCommand(args, env);
  const code = await command.exited;
  return { code, stdout: command.stdout(), stderr: command.stderr() };
}

/** Polls until the URL answers with the status, or fails after the timeout. */
export async function waitForStatus(url: string, status = 200, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status === status) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}
