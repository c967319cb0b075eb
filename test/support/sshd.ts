// A real OpenSSH sshd for tests: own host key, own authorized client key, on a free port.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../shared/net.js';

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  user: string;
  /** The authorized client key (OpenSSH PEM). */
  privateKey: string;
  privateKeyFile: string;
  /** `SHA256:…` of the host key. */
  fingerprint: string;
  dir: string;
  /** What sshd printed so far (its log goes to stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** True when sshd is installed; in CI its absence must fail a test rather than skip it. */
export function haveSshd(): boolean {
  return existsSync(SSHD);
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
}

/**
 * `prefix` wraps sshd (e.g. `ip netns exec <name>`); the host may not reach that address, so
 * readiness is then read from sshd's own "Server listening" line instead of a connection.
 */
export async function startSshd(
  options: {
    listen?: string;
    port?: number;
    logLevel?: string;
    prefix?: string[];
    /** Public keys trusted beside the test's client key, from the first connection on. */
    authorizedKeys?: string[];
  } = {},
): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'commander-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  const authorized = [readFileSync(`${clientKey}.pub`, 'utf8').trim(), ...(options.authorizedKeys ?? [])];
  writeFileSync(join(dir, 'authorized_keys'), `${authorized.join('\n')}\n`, { mode: 0o600 });
  if (userInfo().uid === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = options.port ?? (await freePort());
  const host = options.listen ?? '127.0.0.1';
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${host}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      `LogLevel ${options.logLevel ?? (options.prefix ? 'INFO' : 'ERROR')}`,
      '',
    ].join('\n'),
  );
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${hostKey}.pub`])
    .toString()
    .split(' ')[1] as string;
  const [command = SSHD, ...argv] = [...(options.prefix ?? []), SSHD, '-D', '-e', '-f', config];
  const child: ChildProcess = spawn(command, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = options.prefix
      ? stderr.includes('Server listening on')
      : await new Promise<boolean>((resolve) => {
          const socket = connect(port, host, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sshd did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    user: userInfo().username,
    privateKey: readFileSync(clientKey, 'utf8'),
    privateKeyFile: clientKey,
    fingerprint,
    dir,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * OpenSSH client arguments that run `command` on `sshd` through 127.0.0.1:`port` (a tunnel's local
 * end): its test key only, no config file, no host key checks, no prompts.
 */
export function sshClientArgs(sshd: TestSshd, port: number, command: string, connectTimeoutS = 10): string[] {
  return [
    '-F',
    '/dev/null',
    '-p',
    String(port),
    '-i',
    sshd.privateKeyFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${connectTimeoutS}`,
    `${sshd.user}@127.0.0.1`,
    command,
  ];
}
