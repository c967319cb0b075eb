import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { DecryptionError, Encryptor, generateKeys } from '../../shared/crypto.js';
import { checkEncryptionKeys, KeyCheckError } from '../../shared/db/key-check.js';
import { freshDatabase } from '../support/db.js';

describe('Encryptor', () => {
  it('round-trips, with a fresh nonce each time, and never shows the plaintext', async () => {
    const encryptor = await Encryptor.create(generateKeys());
    const secret = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n';
    const a = encryptor.encrypt(secret);
    const b = encryptor.encrypt(secret);
    expect(a).not.toBe(b);
    expect(a).not.toContain('abc');
    expect(encryptor.decrypt(a)).toBe(secret);
    expect(encryptor.decrypt(b)).toBe(secret);
  });

  it('encrypts deterministically for lookups by equality', async () => {
    const encryptor = await Encryptor.create(generateKeys());
    const a = encryptor.encryptDeterministic('find-me');
    expect(encryptor.encryptDeterministic('find-me')).toBe(a);
    expect(encryptor.encryptDeterministic('find-you')).not.toBe(a);
    expect(encryptor.decrypt(a)).toBe('find-me');
    expect(encryptor.deterministicCandidates('find-me')).toEqual([a]);
  });

  it('fails loudly on the wrong key or a tampered value', async () => {
    const keys = generateKeys();
    const encryptor = await Encryptor.create(keys);
    const stranger = await Encryptor.create(generateKeys());
    const value = encryptor.encrypt('secret');
    expect(() => stranger.decrypt(value)).toThrow(DecryptionError);
    const sameIdWrongSalt = await Encryptor.create({ ...keys, salt: generateKeys().salt });
    expect(() => sameIdWrongSalt.decrypt(value)).toThrow(/not configured/);
    const tampered = value.slice(0, -4) + (value.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => encryptor.decrypt(tampered)).toThrow(DecryptionError);
    expect(() => encryptor.decrypt('plain text')).toThrow(/not a Commander ciphertext/);
  });

  it('rotates: old data stays readable, new data uses the newest key', async () => {
    const old = generateKeys();
    const fresh = generateKeys();
    const before = await Encryptor.create(old);
    const written = before.encrypt('v1');
    const writtenDet = before.encryptDeterministic('d1');
    const rotated = await Encryptor.create({
      primaryKeys: [...old.primaryKeys, ...fresh.primaryKeys],
      deterministicKeys: [...old.deterministicKeys, ...fresh.deterministicKeys],
      salt: old.salt,
    });
    expect(rotated.decrypt(written)).toBe('v1');
    expect(rotated.decrypt(writtenDet)).toBe('d1');
    const newer = rotated.encrypt('v2');
    expect(newer.split(':')[3]).not.toBe(written.split(':')[3]);
    expect(newer.split(':')[3]).toBe(rotated.currentKeyIds.random);
    expect(() => before.decrypt(newer)).toThrow(DecryptionError);
    // a lookup finds values written under either deterministic key
    expect(rotated.deterministicCandidates('d1')).toContain(writtenDet);
  });
});

describe('key check', () => {
  it('refuses keys that cannot read the data and accepts a rotation', async () => {
    const db = await freshDatabase();
    try {
      const k1 = generateKeys();
      await checkEncryptionKeys(db.sql, await Encryptor.create(k1));
      await expect(checkEncryptionKeys(db.sql, await Encryptor.create(generateKeys()))).rejects.toThrow(
        KeyCheckError,
      );
      await expect(checkEncryptionKeys(db.sql, undefined)).rejects.toThrow(
        /no encryption keys are configured/,
      );
      const k2 = generateKeys();
      const rotated = { ...k1, primaryKeys: [...k1.primaryKeys, ...k2.primaryKeys] };
      await checkEncryptionKeys(db.sql, await Encryptor.create(rotated));
      // data has now been written with the new key too: dropping it is refused
      await expect(checkEncryptionKeys(db.sql, await Encryptor.create(k1))).rejects.toThrow(
        /missing or wrong/,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('config', () => {
  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ COMMANDER_LISTEN: 'nope' })).toThrow(/^COMMANDER_LISTEN:/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL:/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL:/);
    expect(() => loadConfig({ COMMANDER_PUBLIC_URL: 'ftp://x' })).toThrow(/^COMMANDER_PUBLIC_URL:/);
    expect(() => loadConfig({ COMMANDER_ENCRYPTION_PRIMARY_KEY: 'short' })).toThrow(
      /^COMMANDER_ENCRYPTION_PRIMARY_KEY:/,
    );
    const keys = generateKeys();
    expect(() =>
      loadConfig({
        COMMANDER_ENCRYPTION_PRIMARY_KEY: keys.primaryKeys[0],
        COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT: keys.salt,
      }),
    ).toThrow(/^COMMANDER_ENCRYPTION_DETERMINISTIC_KEY: is not set/);
  });

  it("takes the web application's OIDC client id, the audience by default", () => {
    const oidc = { COMMANDER_OIDC_ISSUER: 'https://id.example.com', COMMANDER_OIDC_AUDIENCE: 'commander' };
    expect(loadConfig(oidc).oidc?.clientId).toBe('commander');
    expect(loadConfig({ ...oidc, COMMANDER_OIDC_CLIENT_ID: 'commander-web' }).oidc?.clientId).toBe(
      'commander-web',
    );
    for (const bad of ['two words', 'x'.repeat(257), 'caf\u00e9'])
      expect(() => loadConfig({ ...oidc, COMMANDER_OIDC_CLIENT_ID: bad })).toThrow(
        /^COMMANDER_OIDC_CLIENT_ID:/,
      );
  });

  it('has the documented defaults', () => {
    const config = loadConfig({ COMMANDER_DATA_DIR: '/nonexistent-dir' });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.publicUrl).toBe('http://127.0.0.1:8080');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.encryption).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.replicaLink).toBeUndefined();
    expect(config.replicaHeartbeatMs).toBe(5000);
  });

  it('reads the replica link: where to listen, and the address peers dial', () => {
    expect(loadConfig({ COMMANDER_REPLICA_LISTEN: '127.0.0.1:0' }).replicaLink).toEqual({
      listen: { host: '127.0.0.1', port: 0 },
    });
    expect(
      loadConfig({ COMMANDER_REPLICA_LISTEN: '0.0.0.0:8081', COMMANDER_REPLICA_ADDRESS: '[10.1.2.3]:8081' })
        .replicaLink,
    ).toEqual({ listen: { host: '0.0.0.0', port: 8081 }, address: '10.1.2.3:8081' });
    expect(
      loadConfig({ COMMANDER_REPLICA_LISTEN: '[::]:8081', COMMANDER_REPLICA_ADDRESS: '[fd00::1]:8081' })
        .replicaLink?.address,
    ).toBe('[fd00::1]:8081');
    // A wildcard says nothing peers could dial.
    expect(() => loadConfig({ COMMANDER_REPLICA_LISTEN: '0.0.0.0:8081' })).toThrow(
      /^COMMANDER_REPLICA_ADDRESS:/,
    );
    expect(() => loadConfig({ COMMANDER_REPLICA_ADDRESS: '10.1.2.3:8081' })).toThrow(
      /^COMMANDER_REPLICA_ADDRESS: needs COMMANDER_REPLICA_LISTEN/,
    );
    expect(() => loadConfig({ COMMANDER_REPLICA_LISTEN: 'nope' })).toThrow(/^COMMANDER_REPLICA_LISTEN:/);
    expect(() => loadConfig({ COMMANDER_REPLICA_HEARTBEAT_SECONDS: '0' })).toThrow(
      /^COMMANDER_REPLICA_HEARTBEAT_SECONDS:/,
    );
  });

  it('derives link keys apart from the encryption keys, one per primary key', async () => {
    const keys = generateKeys();
    const one = await Encryptor.create(keys);
    const rotated = await Encryptor.create({
      ...keys,
      primaryKeys: [...keys.primaryKeys, generateKeys().primaryKeys[0] as string],
    });
    const [first] = one.macKeys('link');
    expect(first).toHaveLength(32);
    expect(rotated.macKeys('link')[0]?.equals(first as Buffer)).toBe(true);
    expect(rotated.macKeys('link')).toHaveLength(2);
    expect(one.macKeys('other')[0]?.equals(first as Buffer)).toBe(false);
  });
});
