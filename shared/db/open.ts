// Opens the database a command runs on: DATABASE_URL, else the embedded PostgreSQL under
// COMMANDER_DATA_DIR; applies migrations and proves the encryption keys read the data.
import { writeFileAtomically } from '../atomic-file.js';
import {
  type Config,
  ConfigError,
  type EncryptionKeys,
  KEY_VARIABLES,
  keysEnvironment,
  keysFilePath,
  loadKeysFile,
} from '../config.js';
import { Encryptor, generateKeys } from '../crypto.js';
import type { Logger } from '../logger.js';
import { connect, type Queryable, type Sql } from './connect.js';
import { type EmbeddedOptions, startEmbedded } from './embedded.js';
import { checkEncryptionKeys } from './key-check.js';
import { migrate, SETUP_LOCK } from './migrate.js';

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
  /** For the programs that serve: they own the embedded database while they run (see embedded.ts). */
  owner?: EmbeddedOptions['owner'];
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions): Promise<Database> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbedded(config.dataDir, (message, level = 'info') => logger[level](message), {
        owner: options.owner,
      });
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
    const encryptor = await settleKeys(sql, config, logger, options.keys);
    if (!encryptor && options.keys !== 'optional') {
      throw new ConfigError(
        KEY_VARIABLES.primary,
        'is not set: run `commander keys generate` and set the three keys',
      );
    }
    return { sql, encryptor, close };
  } catch (error) {
    // The error that brought us here is the one to report; a failed clean-up is only logged.
    await close().catch((closeError: unknown) =>
      logger.warn({ err: closeError }, 'closing the database failed'),
    );
    throw error;
  }
}

/**
 * The keys this process runs with: the environment's, else the data dir's keys.env, which `up`
 * creates for an empty database. All of it happens under the setup lock, so a process starting
 * beside `up` sees either no keys and no encrypted data, or the whole file and its check rows.
 */
async function settleKeys(
  sql: Sql,
  config: Config,
  logger: Logger,
  mode: OpenOptions['keys'],
): Promise<Encryptor | undefined> {
  let encryptor: Encryptor | undefined;
  let generated: string | undefined;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SETUP_LOCK})`;
    const fromFile = config.encryption ? undefined : loadKeysFile(config.dataDir);
    let keys = config.encryption ?? fromFile?.keys;
    let source = config.encryption ? 'the environment' : fromFile?.source;
    if (!keys && mode === 'generate' && !(await holdsEncryptedData(tx))) {
      keys = generateKeys();
      source = keysFilePath(config.dataDir);
      // Never overwrite keys that may already protect data.
      writeFileAtomically(source, formatKeys(keys), { mode: 0o600, overwrite: false });
      generated = source;
    }
    encryptor = keys ? await Encryptor.create(keys) : undefined;
    await checkEncryptionKeys(tx, encryptor, source, { willEncrypt: mode !== 'optional' });
  });
  if (generated) {
    logger.warn(
      { path: generated },
      'generated encryption keys; back this file up: without it the data cannot be read',
    );
  }
  return encryptor;
}

async function holdsEncryptedData(sql: Queryable): Promise<boolean> {
  const [row] = await sql`select exists (select 1 from encryption_key_checks) as present`;
  return Boolean(row?.present);
}

export function formatKeys(keys: EncryptionKeys): string {
  return Object.entries(keysEnvironment(keys))
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}
