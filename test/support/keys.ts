// Encryption keys for tests, as the environment would carry them.
import type { EncryptionKeys } from '../../shared/config.js';
import { keysEnvironment } from '../../shared/config.js';
import { generateKeys } from '../../shared/crypto.js';

export function testKeys(): EncryptionKeys {
  return generateKeys();
}

export const keysEnv = keysEnvironment;
