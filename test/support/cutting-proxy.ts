// A proxy to the database that closes a connection the way a dying server does, at the moment
// its client sends what the test picks (the chunk never reaches the server), and can then reset
// the next connections at once, as a server that is not back yet.
import { createServer, connect as netConnect, type Socket } from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Resets the next `count` connections as soon as they arrive. */
  refuseNext(count: number): void;
  close(): Promise<void>;
}

/** `cutAt` sees every chunk a client sends; true closes that connection before it is passed on. */
export async function cuttingProxy(
  targetPort: number,
  cutAt: (chunk: Buffer) => boolean,
): Promise<CuttingProxy> {
  let refusing = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    if (refusing > 0) {
      refusing -= 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = netConnect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.resetAndDestroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      if (cutAt(chunk)) {
        upstream.destroy();
        client.end();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    refuseNext(count) {
      refusing = count;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
