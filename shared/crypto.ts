// Encryption at rest: tweetnacl secretbox under keys derived from the operator's
// primary keys and salt, plus a deterministic mode for fields looked up by equality.
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import nacl from 'tweetnacl';
import type { EncryptionKeys } from './config.js';

const pbkdf2Async = promisify(pbkdf2);
const ITERATIONS = 65_536;
const PREFIX = 'enc:v1';

export type EncryptionMode = 'random' | 'deterministic';

interface DerivedKey {
  id: string;
  key: Uint8Array;
}

/** An Encryptor's derived keys, for a worker thread of the same process (never leaves it). */
export interface DerivedKeys {
  primary: DerivedKey[];
  deterministic: DerivedKey[];
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/**
 * Ciphertexts look like `enc:v1:r:<key id>:<base64 nonce+box>` (`d` for deterministic), so a
 * reader can tell which configured key wrote a value and rotation needs no extra column.
 */
export class Encryptor {
  private constructor(
    private readonly primary: DerivedKey[],
    private readonly deterministic: DerivedKey[],
  ) {}

  static async create(keys: EncryptionKeys): Promise<Encryptor> {
    const derive = (list: string[], purpose: string) =>
      Promise.all(list.map((secret) => deriveKey(secret, keys.salt, purpose)));
    return new Encryptor(
      await derive(keys.primaryKeys, 'primary'),
      await derive(keys.deterministicKeys, 'deterministic'),
    );
  }

  /** The same Encryptor in a worker thread, without deriving the keys again. */
  static fromDerived(keys: DerivedKeys): Encryptor {
    return new Encryptor(keys.primary, keys.deterministic);
  }

  /** What `fromDerived` takes: posted to a worker thread, structured-cloned, never serialised. */
  get derived(): DerivedKeys {
    return { primary: this.primary, deterministic: this.deterministic };
  }

  /** The key ids that new data is written with, one per mode. */
  get currentKeyIds(): Record<EncryptionMode, string> {
    return { random: newest(this.primary).id, deterministic: newest(this.deterministic).id };
  }

  /**
   * Keys for authenticating messages between processes that share the configuration (the
   * gateway replicas' link), one per primary key, derived for `purpose` alone: a MAC key is never
   * an encryption key. Every key is offered and any accepted, so replicas part way through a
   * key rotation still know each other.
   */
  macKeys(purpose: string): Buffer[] {
    return this.primary.map((key) =>
      createHmac('sha256', key.key).update(`commander-mac-v1 ${purpose}`).digest(),
    );
  }

  encrypt(plaintext: string): string {
    const key = newest(this.primary);
    const message = Buffer.from(plaintext, 'utf8');
    return seal('r', key, randomBytes(nacl.secretbox.nonceLength), message);
  }

  /** Same plaintext → same ciphertext under the same key, so `WHERE column = $1` works. */
  encryptDeterministic(plaintext: string, key: DerivedKey = newest(this.deterministic)): string {
    const message = Buffer.from(plaintext, 'utf8');
    const nonce = createHmac('sha256', key.key)
      .update(message)
      .digest()
      .subarray(0, nacl.secretbox.nonceLength);
    return seal('d', key, nonce, message);
  }

  /** Every ciphertext the plaintext may be stored as, one per configured deterministic key. */
  deterministicCandidates(plaintext: string): string[] {
    return this.deterministic.map((key) => this.encryptDeterministic(plaintext, key));
  }

  decrypt(ciphertext: string): string {
    const parts = ciphertext.split(':');
    if (
      parts.length !== 5 ||
      `${parts[0]}:${parts[1]}` !== PREFIX ||
      (parts[2] !== 'r' && parts[2] !== 'd')
    ) {
      throw new DecryptionError('not a Commander ciphertext');
    }
    const keyId = parts[3] as string;
    const key = (parts[2] === 'r' ? this.primary : this.deterministic).find((k) => k.id === keyId);
    if (!key) throw new DecryptionError(`encrypted with key ${keyId}, which is not configured`);
    const raw = Buffer.from(parts[4] as string, 'base64');
    const nonce = raw.subarray(0, nacl.secretbox.nonceLength);
    const opened = nacl.secretbox.open(raw.subarray(nacl.secretbox.nonceLength), nonce, key.key);
    if (!opened) throw new DecryptionError(`key ${keyId} cannot open this value`);
    return Buffer.from(opened).toString('utf8');
  }
}

function newest(keys: DerivedKey[]): DerivedKey {
  const key = keys[keys.length - 1];
  if (!key) throw new Error('no encryption key configured');
  return key;
}

function seal(mode: 'r' | 'd', key: DerivedKey, nonce: Uint8Array, message: Uint8Array): string {
  const box = nacl.secretbox(message, nonce, key.key);
  return `${PREFIX}:${mode}:${key.id}:${Buffer.concat([nonce, box]).toString('base64')}`;
}

async function deriveKey(secret: string, salt: string, purpose: string): Promise<DerivedKey> {
  const key = new Uint8Array(await pbkdf2Async(secret, `${salt}:${purpose}`, ITERATIONS, 32, 'sha256'));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
}

/** A fresh set of keys as `NAME=value` lines, what `commander keys generate` prints. */
export function generateKeys(): EncryptionKeys {
  const random = () => randomBytes(32).toString('base64url');
  return { primaryKeys: [random()], deterministicKeys: [random()], salt: random() };
}
