// The key pairs clusters get: every one usable by ssh2 and by OpenSSH, including the one in 256
// whose public key starts with a zero byte (ssh2's own generator broke those).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateSshKeyPair, type SshKeyPair } from '../../shared/ssh-key.js';
import { tempDir } from '../e2e/helpers.js';

/** The public key's 32 raw bytes. */
const rawPublic = (pair: SshKeyPair) =>
  Buffer.from(pair.public.split(' ')[1] as string, 'base64').subarray(-32);

describe('generateSshKeyPair', () => {
  it('makes pairs ssh2 reads, signs and verifies with, leading zero bytes included', () => {
    const leadingZero: SshKeyPair[] = [];
    for (let made = 0; made < 2000 || (leadingZero.length < 3 && made < 50_000); made += 1) {
      const pair = generateSshKeyPair(`commander-${made}`);
      const key = ssh2.utils.parseKey(pair.private);
      const pub = ssh2.utils.parseKey(pair.public);
      if (key instanceof Error || pub instanceof Error) throw new Error(`${key}/${pub}\n${pair.private}`);
      expect(key.type).toBe('ssh-ed25519');
      expect(key.comment).toBe(`commander-${made}`);
      expect(key.getPublicSSH().equals(pub.getPublicSSH())).toBe(true);
      const data = Buffer.from(`sign me ${made}`);
      expect(pub.verify(data, key.sign(data) as Buffer)).toBe(true);
      if (rawPublic(pair)[0] === 0) leadingZero.push(pair);
    }
    expect(leadingZero.length).toBeGreaterThanOrEqual(3);
  });

  it("is read by OpenSSH's ssh-keygen, which derives the same public key", () => {
    const dir = tempDir('ssh-key-');
    try {
      const pairs: SshKeyPair[] = [];
      // Ten pairs, two of them with a public key starting with a zero byte.
      while (pairs.length < 10) {
        const pair = generateSshKeyPair('checked');
        const zeros = pairs.filter((p) => rawPublic(p)[0] === 0).length;
        if (pairs.length < 8 || rawPublic(pair)[0] === 0 || zeros >= 2) pairs.push(pair);
      }
      expect(pairs.filter((p) => rawPublic(p)[0] === 0).length).toBeGreaterThanOrEqual(2);
      for (const [index, pair] of pairs.entries()) {
        const file = join(dir.path, `key${index}`);
        writeFileSync(file, pair.private, { mode: 0o600 });
        const derived = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
        expect(derived).toBe(pair.public);
      }
    } finally {
      dir.remove();
    }
  });
});
