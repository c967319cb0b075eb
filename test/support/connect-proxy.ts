// A minimal HTTP CONNECT proxy that records what it was asked to reach.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';

export interface ConnectProxy {
  url: string;
  /** host:port of every CONNECT, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const requests: string[] = [];
  const tunnels = new Set<import('node:stream').Duplex>();
  const server: Server = createServer((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  server.on('connect', (req, client, head) => {
    const authority = req.url ?? '';
    requests.push(authority);
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    const [host, port] = [
      authority.slice(0, authority.lastIndexOf(':')),
      authority.slice(authority.lastIndexOf(':') + 1),
    ];
    const upstream = connect(Number(port), host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
