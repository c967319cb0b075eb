import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, HostKeyMismatch, type SshTarget } from '../../manager/ssh.js';
import { PermanentError } from '../../manager/worker.js';
import { freePort } from '../../shared/net.js';
import { generateSshKeyPair } from '../../shared/ssh-key.js';
import { haveSshd, startSshd, type TestSshd } from '../support/sshd.js';

const needSshd = !haveSshd() && !process.env.CI;

describe.skipIf(needSshd)('ssh to a real OpenSSH sshd', () => {
  let sshd: TestSshd;
  let target: SshTarget;

  beforeAll(async () => {
    if (!haveSshd()) throw new Error('sshd (openssh-server) is required in CI');
    sshd = await startSshd();
    target = {
      host: '127.0.0.1',
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.privateKey,
      hostKeyFingerprint: null,
    };
  });
  afterAll(() => sshd?.stop());

  it('pins the host key on first use, runs commands with streamed output and uploads files', async () => {
    const session = await connectSsh(target);
    expect(session.fingerprint).toBe(sshd.fingerprint);
    const lines: string[] = [];
    const result = await session.exec('echo one; echo two >&2; exit 3', (line) => lines.push(line));
    expect(result.code).toBe(3);
    expect(lines.sort()).toEqual(['one', 'two']);
    // run() turns a failure into an error with the exit code (or signal) and the end of stderr.
    const noisy = 'for i in 1 2 3 4 5 6 7; do echo "err $i" >&2; done; echo out; exit 4';
    await expect(session.run('probe', noisy, () => {})).rejects.toThrow(
      /^probe exited with 4; stderr ends with: err 3 \| err 4 \| err 5 \| err 6 \| err 7$/,
    );
    await expect(session.run('probe', 'kill -KILL $$', () => {})).rejects.toThrow(
      /^probe was killed by SIGKILL$/,
    );
    await expect(session.run('probe', 'true', () => {})).resolves.toBeUndefined();
    await session.upload(`${sshd.dir}/bundle`, [
      { name: 'secret', content: 'token-value', mode: 0o600 },
      { name: 'agent.env', content: 'A=1\n', mode: 0o644 },
    ]);
    const listed: string[] = [];
    await session.exec(
      `stat -c '%a %n' ${sshd.dir}/bundle/secret ${sshd.dir}/bundle/agent.env; cat ${sshd.dir}/bundle/secret`,
      (l) => listed.push(l),
    );
    expect(listed).toEqual([
      `600 ${sshd.dir}/bundle/secret`,
      `644 ${sshd.dir}/bundle/agent.env`,
      'token-value',
    ]);
    session.close();
  });

  it('works over any Duplex, such as a tunnel stream', async () => {
    const sock = netConnect(sshd.port, '127.0.0.1');
    const session = await connectSsh(
      { ...target, host: 'master', hostKeyFingerprint: sshd.fingerprint },
      { sock },
    );
    const lines: string[] = [];
    expect((await session.exec('echo through-sock', (l) => lines.push(l))).code).toBe(0);
    expect(lines).toEqual(['through-sock']);
    session.close();
  });

  it('fails clearly on a changed host key, a wrong key and an unreachable host', async () => {
    const changed = connectSsh({ ...target, hostKeyFingerprint: 'SHA256:somethingElse' });
    await expect(changed).rejects.toBeInstanceOf(HostKeyMismatch);
    await expect(changed).rejects.toThrow(
      /host key of 127\.0\.0\.1:\d+ changed: pinned SHA256:somethingElse, offered SHA256:/,
    );

    const stranger = generateSshKeyPair().private;
    const wrongKey = connectSsh({ ...target, privateKey: stranger });
    await expect(wrongKey).rejects.toBeInstanceOf(PermanentError);
    await expect(wrongKey).rejects.toThrow(/authentication as \S+ failed/);

    const closedPort = await freePort();
    await expect(connectSsh({ ...target, port: closedPort }, { timeoutMs: 3000 })).rejects.toThrow(
      new RegExp(`ssh to 127\\.0\\.0\\.1:${closedPort} failed: .*ECONNREFUSED`),
    );
  });
});
