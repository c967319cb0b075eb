// Proves at start-up that the configured encryption keys open the data already stored,
// so no command ever runs on keys that would read (or write) garbage.
import type { EncryptionMode, Encryptor } from '../crypto.js';
import type { Queryable } from './connect.js';

const CHECK_PLAINTEXT = 'commander-key-check';

export class KeyCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyCheckError';
  }
}

/**
 * Every key that may have written data left a check row. Each row must open with a configured
 * key; then, for programs that encrypt, the keys that write from now on get their own rows.
 */
export async function checkEncryptionKeys(
  sql: Queryable,
  encryptor: Encryptor | undefined,
  source?: string,
  options: { willEncrypt: boolean } = { willEncrypt: true },
): Promise<void> {
  const rows = await sql<{ key_id: string; mode: EncryptionMode; check_value: string }[]>`
    select key_id, mode, check_value from encryption_key_checks order by created_at`;
  if (!encryptor) {
    if (rows.length > 0) {
      throw new KeyCheckError(
        'the database holds encrypted data but no encryption keys are configured: set COMMANDER_ENCRYPTION_PRIMARY_KEY, ' +
          'COMMANDER_ENCRYPTION_DETERMINISTIC_KEY and COMMANDER_ENCRYPTION_KEY_DERIVATION_SALT to the keys it was written with',
      );
    }
    return;
  }
  for (const row of rows) {
    let plaintext: string;
    try {
      plaintext = encryptor.decrypt(row.check_value);
    } catch {
      plaintext = '';
    }
    if (plaintext !== CHECK_PLAINTEXT) {
      throw new KeyCheckError(
        `the configured encryption keys (from ${source ?? 'the environment'}) cannot read this database: ` +
          `${row.mode} key ${row.key_id} has been used to write to it and is missing or wrong. ` +
          'Configure the keys the data was written with (add new keys after the old ones to rotate).',
      );
    }
  }
  // Only a program that writes encrypted data commits the database to its newest keys.
  if (!options.willEncrypt) return;
  const current = encryptor.currentKeyIds;
  await sql`insert into encryption_key_checks (key_id, mode, check_value) values
    (${current.random}, 'random', ${encryptor.encrypt(CHECK_PLAINTEXT)}),
    (${current.deterministic}, 'deterministic', ${encryptor.encryptDeterministic(CHECK_PLAINTEXT)})
    on conflict (key_id) do nothing`;
}
