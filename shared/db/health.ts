// Tells a database that is away (stopped, restarting, failing over) from a query that is wrong:
// the first is answered 503 UNAVAILABLE and retried, the second is a bug or a refusal.
// How the pool reconnects is set in connect.ts; docs/operations.md describes the whole behaviour.

/** Socket and postgres.js errors of a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
]);

/**
 * SQLSTATEs of a server that is going or coming: 57P01 admin_shutdown (fast shutdown, a
 * failover), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up), 25006
 * read_only_sql_transaction (the address still points at a primary that was demoted), and the
 * whole 08 class (connection exceptions).
 */
const SERVER_GONE = /^(08...|57P0[123]|25006)$/;

/**
 * True when the error means the database is unreachable now and the same work may succeed once
 * it is back. CONNECTION_ENDED is not among them: that pool was closed by this process.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CONNECTION_CODES.has(code) || SERVER_GONE.test(code);
}

/** Waits between attempts at work that must not be dropped while the database is away. */
export const UNAVAILABLE_RETRY_MS = { first: 100, max: 1000 } as const;

/**
 * Runs `work` until it succeeds, waiting (100 ms, doubling to 1 s) after each failure that
 * `isDatabaseUnavailable` calls temporary; any other failure is thrown. `keepTrying` is asked
 * before each retry: when it says no, the last error is thrown.
 */
export async function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  keepTrying: () => boolean,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  let delay: number = UNAVAILABLE_RETRY_MS.first;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || !keepTrying()) throw error;
      onRetry?.(error, attempt);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, UNAVAILABLE_RETRY_MS.max);
  }
}
