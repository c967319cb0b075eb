// Archiving, the only way Commander's objects go away: a row keeps its history and frees its
// name (unique indexes cover live rows only), and archive_number tells apart archived rows that
// had the same name.
import type { Queryable } from './db/connect.js';

/**
 * The archive_number the next archived row of this natural key gets: 1 for the first, then 2…
 * Called on the row being archived, locked, so two archives of one key cannot take one number
 * (only one live row holds a key at a time).
 */
export async function nextArchiveNumber(
  tx: Queryable,
  table: 'registries' | 'catalogs' | 'records' | 'workspace_role_bindings',
  key: Record<string, unknown>,
): Promise<number> {
  const conditions = Object.entries(key).map(([column, value]) => tx`${tx(column)} = ${value as string}`);
  const where = conditions.reduce(
    (all, condition) => tx`${all} and ${condition}`,
    tx`archived_at is not null`,
  );
  const [row] = await tx<{ next: number }[]>`
    select coalesce(max(archive_number), 0) + 1 as next from ${tx(table)} where ${where}`;
  return row?.next ?? 1;
}

/** As answered: a string (Commander's clients decode it as one), null while the row is live. */
export function archiveNumberJson(value: number | null): string | null {
  return value === null ? null : String(value);
}
