// A bulk client in its own process: pushes into a sink target (targets.ts) as fast as it takes
// bytes until SIGTERM, through one tunnel (`<api> <token> <cluster> <target>`) or straight over
// TCP (`tcp <port>`); prints `pushing` once started and `pushed <bytes> <ms>` every 500 ms.
import type { Duplex } from 'node:stream';
import { openTunnel } from '../shared/tunnel-client.js';
import { tcpConnect } from './traffic.js';

const args = process.argv.slice(2);
const chunk = Buffer.alloc(1024 * 1024, 0x5a);
const stream: Duplex =
  args[0] === 'tcp'
    ? await tcpConnect(Number(args[1]))
    : await openTunnel({
        api: args[0] as string,
        token: args[1] as string,
        clusterId: args[2] as string,
        target: args[3] as string,
      });
stream.on('error', (error) => {
  process.stderr.write(`pusher: ${error.message}\n`);
  process.exit(1);
});
const header = Buffer.alloc(8);
header.writeBigUInt64BE(2n ** 62n);
stream.write(header);
let pushed = 0;
const started = performance.now();
const go = () => {
  for (;;) {
    pushed += chunk.length;
    if (!stream.write(chunk)) return void stream.once('drain', go);
  }
};
process.stdout.write('pushing\n');
go();
setInterval(() => process.stdout.write(`pushed ${pushed} ${performance.now() - started}\n`), 500);
process.on('SIGTERM', () => process.exit(0));
