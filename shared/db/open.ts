// Opens the database a command runs on: DATABASE_URL, else the embedded PostgreSQL under
// COMMANDER_DATA_DIR; applies migrations and proves the encryption keys read the data.
import { writeFileSync } from 'node:fs';
import {
  type Config,
  ConfigError,
  type EncryptionKeys,
  KEY_VARIABLES,
  keysEnvironment,
  keysFilePath,
} from '../config.js';
import { Encryptor, generateKeys } from '../crypto.js';
import type { Logger } from '../logger.js';
import { connect, type Sql } from './connect.js';
import { startEmbedded } from './embedded.js';
import { checkEncryptionKeys } from './key-check.js';
import { migrate } from './migrate.js';

export interface Database {
  sql: Sql;
  encryptor?: Encryptor;
  close(): Promise<void>;
}

export interface OpenOptions {
  applicationName: string;
  /** Keys are required by programs that encrypt; `up` generates them for an empty database. */
  keys: 'required' | 'optional' | 'generate';
  poolMax?: number;
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions): Promise<Database> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbedded(config.dataDir, (message) => logger.info(message));
  const sql = connect(config.databaseUrl ?? (embedded?.url as string), {
    max: options.poolMax ?? config.dbPoolMax,
    applicationName: options.applicationName,
  });
  const close = async () => {
    // Requests were already cut off at the shutdown deadline: do not wait long for their queries.
    await sql.end({ timeout: 1 });
    await embedded?.stop();
  };
  try {
    const applied = await migrate(sql);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
    let keys = config.encryption;
    let source = config.encryptionSource;
    if (!keys && options.keys === 'generate' && !(await holdsEncryptedData(sql))) {
      keys = generateKeys();
      source = keysFilePath(config.dataDir);
      writeKeysFile(source, keys);
      logger.warn(
        { path: source },
        'generated encryption keys; back this file up: without it the data cannot be read',
      );
    }
    const encryptor = keys ? await Encryptor.create(keys) : undefined;
    await checkEncryptionKeys(sql, encryptor, source, { willEncrypt: options.keys !== 'optional' });
    if (!encryptor && options.keys !== 'optional') {
      throw new ConfigError(
        KEY_VARIABLES.primary,
        'is not set: run `commander keys generate` and set the three keys',
      );
    }
    return { sql, encryptor, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

async function holdsEncryptedData(sql: Sql): Promise<boolean> {
  const [row] = await sql`select exists (select 1 from encryption_key_checks) as present`;
  return Boolean(row?.present);
}

export function formatKeys(keys: EncryptionKeys): string {
  return Object.entries(keysEnvironment(keys))
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

function writeKeysFile(path: string, keys: EncryptionKeys): void {
  // 'wx': never overwrite keys that may already protect data.
  writeFileSync(path, formatKeys(keys), { mode: 0o600, flag: 'wx' });
}
