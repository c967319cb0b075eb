// Works around a defect of postgres.js 3.4.x that ends the process when a connection dies in
// the middle of a transaction (porsager/postgres#1154, #1208; a database restart does that).

import type postgres from 'postgres';

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
 * Makes `sql.begin` safe when the transaction's connection dies. postgres.js answers a failed
 * transaction callback with ROLLBACK (and a finished one with COMMIT) on the same connection; when
 * that connection has closed, the write is deferred with setImmediate onto a socket that is gone,
 * and the TypeError it throws there reaches no caller and ends the process. A transaction whose
 * connection is gone is over on the server anyway, and postgres.js rejects `begin` itself as soon
 * as the connection closes: so when a query in the callback fails that way, the callback is left
 * pending instead of failing, nothing more is written to the dead connection, and the caller sees
 * the rejection from `begin`. (The pending callback holds nothing alive: no timer refers to it.)
 */
export function guardTransactions(sql: postgres.Sql): postgres.Sql {
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
