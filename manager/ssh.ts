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
  code: number | null;
  signal?: string;
}

export interface SshSession {
  /** The host key fingerprint seen on this connection (store it when it was not pinned yet). */
  fingerprint: string;
  /** Runs a command; every output line (stdout and stderr) goes to onLine as it arrives. */
  exec(command: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<CommandResult>;
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
  return {
    fingerprint,
    exec(command, onLine, signal) {
      return new Promise((resolve, reject) => {
        client.exec(command, (error, stream) => {
          if (error) return reject(new Error(`ssh exec failed: ${error.message}`));
          const abort = () => stream.close();
          signal?.addEventListener('abort', abort);
          for (const source of [stream, stream.stderr]) {
            let pending = '';
            source.on('data', (chunk: Buffer) => {
              pending += chunk.toString('utf8');
              const lines = pending.split('\n');
              pending = lines.pop() ?? '';
              for (const line of lines) onLine(line);
            });
            source.on('end', () => {
              if (pending) onLine(pending);
              pending = '';
            });
          }
          stream.on('close', (code: number | null, signalName?: string) => {
            signal?.removeEventListener('abort', abort);
            if (signal?.aborted) return reject(signal.reason);
            resolve({ code, signal: signalName });
          });
        });
      });
    },
    async upload(directory, files) {
      sftp ??= new Promise((resolve, reject) =>
        client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))),
      );
      const wrapper = await sftp;
      await new Promise<void>((resolve) => wrapper.mkdir(directory, { mode: 0o700 }, () => resolve()));
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
