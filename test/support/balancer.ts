// A tiny round-robin TCP load balancer for tests: each connection goes to the next backend; one
// that refuses the connection (a dead replica) is skipped, as a real balancer's health checks do.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  port: number;
  /** Backends (host:port), in turn order. */
  backends: number[];
  /** Connections each backend was given, by port. */
  given: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: number[], host = '127.0.0.1'): Promise<Balancer> {
  let next = 0;
  const given = new Map<number, number>();
  const open = new Set<Socket>();
  const pipeTo = (client: Socket, tries: number) => {
    if (tries >= backends.length) return client.destroy();
    const port = backends[next++ % backends.length] as number;
    const upstream = connect(port, host);
    let connected = false;
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    upstream.once('connect', () => {
      connected = true;
      given.set(port, (given.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    upstream.once('error', () => {
      if (!connected) pipeTo(client, tries + 1);
    });
  };
  const server: Server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => {});
    client.pause();
    pipeTo(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    backends,
    given,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
