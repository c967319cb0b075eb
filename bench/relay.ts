// A plain TCP relay in a process of its own: what a hop through a Node process costs before it
// does anything of its own (no framing, no multiplexing, no flow control beyond the sockets').
// Three of them in a row, with TLS on the middle two legs when asked, are the ceiling a tunnel
// through `commander tunnel`, the gateway and the agent is measured against.
//   node relay.js <target port> [--tls-in cert key] [--tls-out ca]
// Prints {"port":N} on stdout once listening on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';

const args = process.argv.slice(2);
const targetPort = Number(args[0]);
const option = (name: string, count: number): string[] | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.slice(at + 1, at + 1 + count);
};
const tlsIn = option('--tls-in', 2);
const tlsOut = option('--tls-out', 1);

function dial(): Socket {
  if (!tlsOut) return connect(targetPort, '127.0.0.1');
  return tlsConnect({ port: targetPort, host: '127.0.0.1', ca: readFileSync(tlsOut[0] as string) });
}

function serve(client: Socket): void {
  const target = dial();
  client.pipe(target);
  target.pipe(client);
  client.on('error', () => target.destroy());
  target.on('error', () => client.destroy());
}

const server = tlsIn
  ? tlsCreateServer({ cert: readFileSync(tlsIn[0] as string), key: readFileSync(tlsIn[1] as string) }, serve)
  : createServer(serve);
// Ends like the product's processes do on the harness's SIGTERM, so --cpu-prof gets written.
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(JSON.stringify({ port: address.port }));
});
