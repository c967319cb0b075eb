// Versioned, forward-only SQL migrations, applied under an advisory lock so that
// replicas starting at the same moment apply each one exactly once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sql } from './connect.js';

/**
 * The advisory lock taken by everything that sets a database up: migrations, and the first
 * encryption keys and admin token (any constant shared by all Commander versions).
 */
export const SETUP_LOCK = 7_302_115_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migration files live beside the source; the compiled code finds them there too. */
function migrationsDir(): string {
  const candidates = ['./migrations', '../../../shared/db/migrations'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const dir = candidates.find((candidate) => existsSync(candidate));
  if (!dir) throw new Error(`migrations not found (looked in ${candidates.join(', ')})`);
  return dir;
}

export function loadMigrations(): Migration[] {
  const dir = migrationsDir();
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(`${dir}/${file}`, 'utf8'),
    }));
}

/** Applies what is missing; returns the versions it applied. */
export async function migrate(sql: Sql, migrations = loadMigrations()): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SETUP_LOCK})`;
    await tx`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`;
    const applied = new Set(
      (await tx`select version from schema_migrations`).map((row) => row.version as number),
    );
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (version, name) values (${migration.version}, ${migration.name})`;
      done.push(migration.version);
    }
    return done;
  });
}

/** True when every known migration is applied (what /readyz reports). */
export async function isMigrated(sql: Sql, migrations = loadMigrations()): Promise<boolean> {
  const [row] = await sql`select coalesce(max(version), 0) as version from schema_migrations`;
  return Number(row?.version) >= (migrations.at(-1)?.version ?? 0);
}
