// Shared pieces of the end-to-end tests: real `commander` processes, the HTTP API, temp dirs.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../shared/net.js';
import { generateSshKeyPair } from '../../shared/ssh-key.js';
import { type RunningCommand, startCommand, waitForStatus } from '../support/process.js';

export interface ApiResult {
  status: number;
  body: any;
  text: string;
}

/** One JSON request to the gateway; `token` goes in X-Auth-Token. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (options.token) headers['x-auth-token'] = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/**
 * Like `api`, but on a connection of its own that closes after the answer (`Connection: close`),
 * so no keep-alive connection outlives the request.
 */
export function apiOnce(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<ApiResult> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (options.token) headers['x-auth-token'] = options.token;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('error', reject);
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A fresh directory under the OS temp dir (traversable by the `postgres` user when we are root). */
export function tempDir(prefix = 'commander-e2e-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A new ed25519 key pair in OpenSSH format, as an operator would paste it. */
export function sshKeyPair(): { private: string; public: string } {
  const pair = generateSshKeyPair();
  return { private: pair.private, public: pair.public };
}

/** Keeps every started process so a hook can stop whatever a failed test left running. */
export class Processes {
  private readonly running = new Set<RunningCommand>();

  start(args: string[], env: Record<string, string | undefined>, prefix?: string[]): RunningCommand {
    const command = startCommand(args, env, prefix);
    this.running.add(command);
    command.exited.then(() => this.running.delete(command));
    return command;
  }

  /** Runs to completion, killing the process (and failing) after `timeoutMs`. */
  async run(
    args: string[],
    env: Record<string, string | undefined>,
    timeoutMs = 30_000,
  ): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
    const started = Date.now();
    const command = this.start(args, env);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const code = await Promise.race([command.exited, timeout]);
    clearTimeout(timer);
    if (code === 'timeout') {
      await command.stop('SIGKILL');
      throw new Error(
        `commander ${args.join(' ')} did not exit within ${timeoutMs} ms; output:\n${command.stdout()}\n${command.stderr()}`,
      );
    }
    return { code, stdout: command.stdout(), stderr: command.stderr(), ms: Date.now() - started };
  }

  /** SIGTERM, then SIGKILL after a grace period, for everything still running. */
  async stopAll(graceMs = 15_000): Promise<void> {
    await Promise.all(
      [...this.running].map(async (command) => {
        command.child.kill('SIGTERM');
        const timer = setTimeout(() => command.child.kill('SIGKILL'), graceMs);
        await command.exited;
        clearTimeout(timer);
      }),
    );
  }
}

export interface GatewayProcess {
  command: RunningCommand;
  url: string;
}

/** Starts `commander gateway` on a free port and waits until /readyz answers 200. */
export async function startGatewayProcess(
  processes: Processes,
  env: Record<string, string | undefined>,
  args: string[] = ['gateway'],
): Promise<GatewayProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const command = processes.start(args, { COMMANDER_LISTEN: `127.0.0.1:${port}`, ...env });
  const ready = waitForStatus(`${url}/readyz`, 200, 45_000).then(() => 'ready' as const);
  const outcome = await Promise.race([ready, command.exited.then((code) => ({ code }))]);
  if (outcome !== 'ready') {
    ready.catch(() => {});
    throw new Error(
      `commander ${args.join(' ')} exited with ${outcome.code} before it was ready:\n${command.stdout()}\n${command.stderr()}`,
    );
  }
  return { command, url };
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** The `[audit]` records printed on a process's stdout. */
export function auditRecords(stdout: string): Record<string, any>[] {
  return lines(stdout)
    .map((line) => /^(\d{4}-\d\d-\d\dT[\d:.]+Z) \[audit\] (\{.*\})$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => JSON.parse(match[2] as string));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
