// Opens the postgres.js pool every program uses.
import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A pool or a transaction: what a query helper needs. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
}

export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 60,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'commander' },
  });
}
