// The `ssh -L` baseline: a real OpenSSH sshd on a free port (own host key, own authorized key)
// and an `ssh -N -L` forward through it to a local target.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../shared/net.js';
import { Child, type Resources, sleep } from './harness.js';
import { tcpConnect } from './traffic.js';

export interface Sshd {
  port: number;
  key: string;
  user: string;
}

export async function startSshd(resources: Resources): Promise<Sshd> {
  const dir = resources.tempDir('commander-bench-sshd-');
  const hostKey = join(dir, 'host_ed25519');
  const key = join(dir, 'client_ed25519');
  for (const file of [hostKey, key])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
  const user = userInfo().username;
  if (userInfo().uid === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = resources.add(
    new Child('sshd', '-D', ['-e', '-f', config], {}, { command: '/usr/sbin/sshd' }),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await tcpConnect(port)).destroy();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`sshd did not listen\n${child.output()}`);
      await sleep(50);
    }
  }
  return { port, key, user };
}

/** How the ssh client reaches our sshd: its port, our key, no host key prompts. */
function clientArgs(sshd: Sshd): string[] {
  return [
    '-p',
    String(sshd.port),
    '-i',
    sshd.key,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
  ];
}

/** `ssh -N -L <local>:127.0.0.1:<target>`; resolves with the local port once it forwards. */
export async function startSshForward(resources: Resources, sshd: Sshd, target: number): Promise<number> {
  const local = await freePort();
  const child = resources.add(
    new Child(
      'ssh',
      '-N',
      [
        '-F',
        '/dev/null',
        '-L',
        `${local}:127.0.0.1:${target}`,
        ...clientArgs(sshd),
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        'LogLevel=ERROR',
        `${sshd.user}@127.0.0.1`,
      ],
      {},
      { command: 'ssh' },
    ),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const exited = await Promise.race([child.exited.then(() => true), sleep(50).then(() => false)]);
    if (exited) throw new Error(`ssh exited\n${child.output()}`);
    try {
      (await tcpConnect(local)).destroy();
      return local;
    } catch {
      if (Date.now() > deadline) throw new Error(`ssh -L did not listen\n${child.output()}`);
    }
  }
}

/** The cipher the ssh client and sshd agree on, for the record. */
export function sshCipher(sshd: Sshd): string {
  const result = spawnSync(
    'ssh',
    ['-F', '/dev/null', '-v', ...clientArgs(sshd), `${sshd.user}@127.0.0.1`, 'true'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 },
  );
  return /kex: server->client cipher: (\S+)/.exec(result.stderr ?? '')?.[1] ?? 'unknown';
}
