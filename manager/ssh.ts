// SSH to a cluster's master node with ssh2: directly (install, delete) or over any Duplex such
// as a tunnel stream through the agent (everything after install). The host key is pinned on
// first use; a changed key fails with a clear message.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { PermanentError } from './worker.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** `SHA256:…` as OpenSSH prints it; null until the first connection pins it. */
  hostKeyFingerprint: string | null;
}

export interface CommandResult {
  /** null when the command was killed by a signal or the channel closed without an exit status. */
  code: number | null;
  signal?: string;
  /** The last lines the command wrote to stderr (whole: a secret in them is masked by the caller). */
  stderrTail: string[];
}

/** How much of a failing command's stderr its error carries: enough to say why, never a flood. */
const STDERR_TAIL_LINES = 5;
/** Output without a newline is cut into lines of this length. */
const MAX_LINE_CHARS = 64 * 1024;

/** A remote command that did not exit 0; its message names the exit code and the end of stderr. */
export class RemoteCommandError extends Error {}

/** Throws a RemoteCommandError unless the command exited 0. */
export function checkExit(what: string, result: CommandResult): void {
  if (result.code === 0) return;
  const status =
    result.code !== null
      ? `exited with ${result.code}`
      : result.signal
        ? `was killed by ${result.signal}`
        : 'ended without an exit status';
  const tail = result.stderrTail.join(' | ');
  throw new RemoteCommandError(`${what} ${status}${tail ? `; stderr ends with: ${tail}` : ''}`);
}

export interface SshSession {
  /** The host key fingerprint seen on this connection (store it when it was not pinned yet). */
  fingerprint: string;
  /** Runs a command; every output line (stdout and stderr) goes to onLine as it arrives. */
  exec(command: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<CommandResult>;
  /** Like exec, but a non-zero exit throws a RemoteCommandError naming `what`. */
  run(what: string, command: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void>;
  /** Writes files into a directory (created if missing) with SFTP. */
  upload(directory: string, files: Array<{ name: string; content: string; mode: number }>): Promise<void>;
  close(): void;
}

export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export class HostKeyMismatch extends PermanentError {}

export function connectSsh(
  target: SshTarget,
  options: { sock?: Duplex; timeoutMs?: number } = {},
): Promise<SshSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen = '';
    let mismatch: HostKeyMismatch | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: options.timeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        seen = fingerprintOf(key);
        if (target.hostKeyFingerprint && target.hostKeyFingerprint !== seen) {
          mismatch = new HostKeyMismatch(
            `host key of ${target.host}:${target.port} changed: pinned ${target.hostKeyFingerprint}, offered ${seen}; ` +
              'if the node was rebuilt on purpose, clear the pinned fingerprint by updating the cluster ssh settings',
          );
          return false;
        }
        return true;
      },
      ...(options.sock ? { sock: options.sock } : {}),
    };
    client.once('ready', () => resolve(session(client, seen)));
    client.once('error', (error: Error & { level?: string }) => {
      if (mismatch) return reject(mismatch);
      const where = options.sock ? 'through the agent tunnel' : `${target.host}:${target.port}`;
      const message =
        error.level === 'client-authentication'
          ? `ssh authentication as ${target.user} failed at ${where}: the key was not accepted`
          : `ssh to ${where} failed: ${error.message}`;
      reject(error.level === 'client-authentication' ? new PermanentError(message) : new Error(message));
    });
    client.connect(config);
  });
}

function session(client: Client, fingerprint: string): SshSession {
  let sftp: Promise<SFTPWrapper> | undefined;
  const exec: SshSession['exec'] = (command, onLine, signal) =>
    new Promise((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(new Error(`ssh exec failed: ${error.message}`));
        const abort = () => stream.close();
        signal?.addEventListener('abort', abort);
        const stderrTail: string[] = [];
        const sources = [
          { source: stream, line: onLine },
          {
            source: stream.stderr,
            line: (line: string) => {
              onLine(line);
              if (line.trim() === '') return;
              stderrTail.push(line);
              if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
            },
          },
        ];
        const ended: Array<Promise<void>> = [];
        for (const { source, line } of sources) {
          let pending = '';
          ended.push(new Promise((done) => source.once('end', done)));
          source.setEncoding('utf8'); // a character split between chunks stays whole
          source.on('data', (chunk: string) => {
            pending += chunk;
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            // A line that never ends is passed on in pieces rather than held in memory.
            while (pending.length > MAX_LINE_CHARS) {
              lines.push(pending.slice(0, MAX_LINE_CHARS));
              pending = pending.slice(MAX_LINE_CHARS);
            }
            for (const each of lines) line(each);
          });
          source.on('end', () => {
            if (pending) line(pending);
            pending = '';
          });
        }
        // The exit status comes in its own message before the channel closes; the result waits
        // for the end of both outputs too, so that every line and the whole stderr tail are in.
        let exit: { code: number | null; signal?: string } = { code: null };
        stream.on('exit', (code: number | null, signalName?: string) => {
          exit = { code: code ?? null, signal: signalName ?? undefined };
        });
        const closed = new Promise<void>((done) => stream.once('close', done));
        Promise.all([closed, ...ended]).then(() => {
          signal?.removeEventListener('abort', abort);
          if (signal?.aborted) return reject(signal.reason);
          resolve({ ...exit, stderrTail });
        });
      });
    });
  return {
    fingerprint,
    exec,
    async run(what, command, onLine, signal) {
      checkExit(what, await exec(command, onLine, signal));
    },
    async upload(directory, files) {
      sftp ??= new Promise((resolve, reject) =>
        client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))),
      );
      const wrapper = await sftp;
      // SFTP reports an existing directory as a plain failure: only a directory there is fine.
      await new Promise<void>((resolve, reject) =>
        wrapper.mkdir(directory, { mode: 0o700 }, (mkdirError) => {
          if (!mkdirError) return resolve();
          wrapper.stat(directory, (statError, stats) =>
            !statError && stats.isDirectory()
              ? resolve()
              : reject(new Error(`sftp could not create ${directory}: ${mkdirError.message}`)),
          );
        }),
      );
      for (const file of files) {
        await new Promise<void>((resolve, reject) =>
          wrapper.writeFile(`${directory}/${file.name}`, file.content, { mode: file.mode }, (error) =>
            error ? reject(new Error(`sftp upload of ${file.name} failed: ${error.message}`)) : resolve(),
          ),
        );
        // writeFile's mode applies only to new files; make it hold for replaced ones too.
        await new Promise<void>((resolve, reject) =>
          wrapper.chmod(`${directory}/${file.name}`, file.mode, (error) =>
            error ? reject(error) : resolve(),
          ),
        );
      }
    },
    close() {
      client.end();
    },
  };
}
