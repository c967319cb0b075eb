// Opens the postgres.js pool every program uses, set up to ride through a database restart or
// failover: connections are made again on demand, soon after the server is back.
import postgres from 'postgres';
import { type DriverOptions, fetchTypesOnce, mendDriver } from './driver-defects.js';
import { socketFactory } from './socket.js';

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
  return mendDriver(sql);
}
