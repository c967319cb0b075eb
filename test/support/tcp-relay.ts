// One fixed address in front of a TCP server that a test moves or takes away: `switchTo` is a
// failover behind an unchanged URL (every relayed connection is dropped, new ones reach the new
// target), `cut` a database that is gone (connections dropped, new ones reset at once). A
// connection whose target refuses is reset too, as the target's own refusal would be.
import { createServer, connect as netConnect, type Socket } from 'node:net';

export interface TcpRelay {
  readonly port: number;
  /** The port new connections are relayed to. */
  readonly target: number;
  /** Connections closed at once because the relay was cut: attempts to reach what is gone. */
  readonly refused: number;
  switchTo(port: number): void;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  let target = targetPort;
  let cut = false;
  let refused = 0;
  const pairs = new Set<[Socket, Socket]>();
  const dropAll = () => {
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  const server = createServer((client) => {
    client.on('error', () => {});
    if (cut) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = netConnect(target, '127.0.0.1');
    upstream.on('error', () => client.resetAndDestroy());
    client.on('error', () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => pairs.delete(pair);
    client.on('close', () => {
      forget();
      upstream.destroy();
    });
    upstream.on('close', () => {
      forget();
      client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    get target() {
      return target;
    },
    get refused() {
      return refused;
    },
    switchTo(next) {
      target = next;
      dropAll();
    },
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
