// Fixed encryption keys for tests, as the environment would carry them.
import type { EncryptionKeys } from '../../shared/config.js';
import { generateKeys } from '../../shared/crypto.js';
import { formatKeys } from '../../shared/db/open.js';

export function testKeys(): EncryptionKeys {
  return generateKeys();
}

export function keysEnv(keys: EncryptionKeys): Record<string, string> {
  return Object.fromEntries(
    formatKeys(keys)
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}
