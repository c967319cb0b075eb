// Works around defects of postgres.js 3.4.x that would end the process or answer wrong rows when
// a connection dies under a query (a database restart or failover does that), until upstream
// fixes them.
import type postgres from 'postgres';
import { retryWhileUnavailable } from './health.js';
import type { SocketOptions } from './socket.js';

/** Everything below, applied to a new pool. */
export function mendDriver(sql: postgres.Sql): postgres.Sql {
  letTypeFetchFail();
  compactSparseResults(sql);
  return guardTransactions(sql);
}

/** The part of postgres.js's parsed options (one object per pool) that the rules below use. */
export interface DriverOptions extends SocketOptions {
  fetch_types: boolean;
  shared: { typeArrayMap: Record<number, number> };
}

/**
 * postgres.js asks each new connection for the server's array types, in a query nobody awaits
 * (connection.js, `fetchArrayTypes`). When that connection dies before the answer (the server
 * restarting), the query's rejection reaches no caller and ends the process. The types it learns
 * belong to the pool and are the same on every server (built-in OIDs; the schema defines no types
 * of its own), so once one connection has them, the pool's later connections skip the question.
 */
export function fetchTypesOnce(pool: DriverOptions): DriverOptions {
  if (pool.fetch_types && Object.keys(pool.shared.typeArrayMap).length > 0) pool.fetch_types = false;
  return pool;
}

let typeFetchGuarded = false;

/**
 * The question is still asked by a pool's first connection; should that one die meanwhile, its
 * rejection is let go (postgres.js connects again and asks again, holding the first query until
 * then). Any other unhandled rejection ends the process as before.
 */
function letTypeFetchFail(): void {
  if (typeFetchGuarded) return;
  typeFetchGuarded = true;
  process.on('unhandledRejection', (reason) => {
    const query = (reason as { query?: unknown } | null)?.query;
    if (typeof query === 'string' && query.includes('from pg_catalog.pg_type a')) return;
    throw reason;
  });
}

let resultsCompacted = false;

/**
 * A query that dies after some of its rows arrived (an error in row 4, the connection lost) leaves
 * the connection's row counter where it was: the next query on that connection resolves with as
 * many empty slots before its rows (porsager/postgres#1119, #1181), and `const [row] = await …`
 * reads nothing. Rows are stored from slot 0 on and are never empty themselves, so a result whose
 * slot 0 is empty is shifted back. Patched on the queries' own prototype, which postgres.js does
 * not export: every `await` of a query goes through its `then`.
 */
function compactSparseResults(sql: postgres.Sql): void {
  if (resultsCompacted) return;
  resultsCompacted = true;
  const prototype = Object.getPrototypeOf(sql`select 1`) as Promise<unknown>;
  const then = prototype.then;
  // biome-ignore lint/suspicious/noThenProperty: queries are thenables; this wraps their own then
  prototype.then = function (this: Promise<unknown>, onFulfilled, onRejected) {
    const compacting = onFulfilled && ((result: unknown) => onFulfilled(compacted(result) as never));
    return then.call(this, compacting, onRejected) as never;
  } as typeof prototype.then;
}

function compacted(result: unknown): unknown {
  if (!Array.isArray(result) || result.length === 0 || 0 in result) return result;
  let first = 0;
  while (first < result.length && !(first in result)) first += 1;
  result.splice(0, first);
  return result;
}

/**
 * Errors of a query whose connection is gone: the socket failed or closed (a server that ends the
 * session, 57P01 on a shutdown, closes it too, and the query sees CONNECTION_CLOSED). On each of
 * these the connection closes, which rejects the transaction (see below). A server error on a
 * live connection is not among them: that transaction must still be rolled back.
 */
const CONNECTION_GONE = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Makes `sql.begin` safe when the transaction's connection dies (porsager/postgres#1154, #1208).
 * postgres.js answers a failed transaction callback with ROLLBACK (and a finished one with COMMIT)
 * on the same connection; when that connection has closed, the write is deferred with
 * setImmediate onto a socket that is gone, and the TypeError it throws there reaches no caller and
 * ends the process. A transaction whose connection is gone is over on the server anyway, and
 * postgres.js rejects `begin` itself as soon as the connection closes: so when a query in the
 * callback fails that way, the callback is left pending instead of failing, nothing more is
 * written to the dead connection, and the caller sees the rejection from `begin`. (The pending
 * callback holds nothing alive: no timer refers to it.)
 */
function guardTransactions(sql: postgres.Sql): postgres.Sql {
  const begin = sql.begin as (...args: unknown[]) => Promise<unknown>;
  const guarded = (...args: unknown[]) => {
    const fn = args.at(-1) as (tx: postgres.TransactionSql) => unknown;
    const wrapped = async (tx: postgres.TransactionSql) => {
      try {
        return await fn(tx);
      } catch (error) {
        if (CONNECTION_GONE.has(String((error as { code?: unknown } | null)?.code))) {
          return new Promise<never>(() => {});
        }
        throw error;
      }
    };
    return begin(...args.slice(0, -1), wrapped);
  };
  sql.begin = guarded as typeof sql.begin;
  return sql;
}

/**
 * `sql.listen`, surviving a connection lost before its LISTEN was answered (a database restart,
 * or a session terminated, while a process starts). postgres.js then rejects the call, yet
 * listens again with the same callbacks once it has reconnected: trying again on top of that
 * would deliver every notification twice. So the callbacks of each attempt act only while it is
 * the current one, and a failed attempt's stay registered but inert. Tries again while the
 * database is unavailable; resolves with the unlisten function of the attempt that succeeded.
 */
export async function listenSurely(
  sql: postgres.Sql,
  channel: string,
  onNotify: (payload: string) => void,
  onListen?: () => void,
): Promise<() => Promise<void>> {
  let current = 0;
  let attempts = 0;
  const { unlisten } = await retryWhileUnavailable(
    () => {
      attempts += 1;
      const mine = attempts;
      current = mine;
      return sql.listen(
        channel,
        (payload) => {
          if (current === mine) onNotify(payload);
        },
        () => {
          if (current === mine) onListen?.();
        },
      );
    },
    () => true,
  );
  return () => {
    current = 0;
    return unlisten();
  };
}
