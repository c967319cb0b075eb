// The sockets the pool connects with: postgres.js's own, plus one rule it lacks. A server that
// closes the connection before it said a word is an error, not a clean close.
import { connect as netConnect, type Socket } from 'node:net';

/** What postgres.js passes to a socket factory (its parsed options). */
export interface SocketOptions {
  host: string[];
  port: number[];
  path?: string;
}

/**
 * A proxy in front of the database (HAProxy with Patroni, a cloud load balancer) accepts the TCP
 * connection even while no server is behind it, then closes it. postgres.js takes that clean
 * close during the handshake as a reason to connect again at once, without failing the query
 * that waits: requests hung for the whole outage while the pool connected thousands of times a
 * second. Closed before any answer, the socket now fails with ECONNRESET, so the waiting query is
 * answered (503 at the API) and the next attempt waits its backoff, as when nothing listens.
 */
export function socketFactory(): (options: SocketOptions) => Socket {
  let next = 0;
  return (options) => {
    // Several hosts in the URL are tried in turn, as postgres.js does.
    const index = next++ % Math.max(1, options.host.length);
    const host = options.host[index] ?? 'localhost';
    const port = options.port[index] ?? options.port[0] ?? 5432;
    const socket = options.path ? netConnect(options.path) : netConnect(port, host);
    // postgres.js names the TLS server after these when it upgrades the socket.
    Object.assign(socket, { host, port });
    let answered = false;
    const onData = () => {
      answered = true;
      socket.off('data', onData);
    };
    socket.on('data', onData);
    socket.once('end', () => {
      if (answered) return;
      const error = new Error(
        `${host}:${port} closed the connection before answering (a proxy with no server behind it?)`,
      );
      socket.destroy(Object.assign(error, { code: 'ECONNRESET' }));
    });
    return socket;
  };
}
