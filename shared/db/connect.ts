// Opens the postgres.js pool every program uses, set up to ride through a database restart or
// failover: connections are made again on demand, soon after the server is back.
import postgres from 'postgres';
import { type SocketOptions, socketFactory } from './socket.js';
import { guardTransactions } from './transaction-guard.js';

export type Sql = postgres.Sql;
/** A pool or a transaction: what a query helper needs. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
}

/** Seconds between attempts to connect again; postgres.js's own grows to 20 s. */
const RECONNECT_MAX_S = 1;

/**
 * The wait before a connection's next attempt after `retries` failed ones: 50 ms doubling to 1 s,
 * with jitter. postgres.js's default (3^n / 100 s, up to 20 s) left a pool that failed a few
 * times while the server was away idle for up to 20 s after it returned; attempts against a
 * server that refuses are cheap, so a short ceiling costs little.
 */
export function reconnectDelay(retries: number): number {
  const ceiling = Math.min(RECONNECT_MAX_S, 0.05 * 2 ** retries);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

export function connect(url: string, options: ConnectOptions = {}): Sql {
  letTypeFetchFail();
  const sockets = socketFactory();
  const sql = postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 60,
    // A server that does not answer (an address nobody holds after a failover) fails the queries
    // waiting on it after this long, answered 503, instead of holding requests.
    connect_timeout: 10,
    backoff: reconnectDelay,
    // Not in postgres.js's types, but an option it documents and reads.
    ...({ socket: (pool: DriverOptions) => sockets(fetchTypesOnce(pool)) } as object),
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'commander' },
  });
  return guardTransactions(sql);
}

/** The part of postgres.js's parsed options (one object per pool) that the rules below use. */
interface DriverOptions extends SocketOptions {
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
function fetchTypesOnce(pool: DriverOptions): DriverOptions {
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
