// Bench targets in a process of their own, so they never share an event loop with a client:
//   sink:   reads an 8-byte big-endian length N, discards N bytes, answers one byte, keeps discarding
//   source: reads an 8-byte big-endian length N, writes N bytes
//   echo:   writes back whatever it reads
// Prints {"sink":port,"source":port,"echo":port} on stdout once listening.
import { createServer, type Server, type Socket } from 'node:net';

const CHUNK = Buffer.alloc(1024 * 1024, 0xa5);

/** Calls `then(n, rest)` once the 8-byte header has arrived. */
function readLength(socket: Socket, then: (length: number, rest: Buffer) => void): void {
  let header: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    header = header.length === 0 ? chunk : Buffer.concat([header, chunk]);
    if (header.length < 8) return;
    socket.off('data', onData);
    then(Number(header.readBigUInt64BE(0)), header.subarray(8));
  };
  socket.on('data', onData);
}

function sink(socket: Socket): void {
  readLength(socket, (length, rest) => {
    let received = rest.length;
    let acked = false;
    const check = () => {
      if (!acked && received >= length) {
        acked = true;
        socket.write('k');
      }
    };
    check();
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      check();
    });
  });
}

function source(socket: Socket): void {
  readLength(socket, (length) => {
    let remaining = length;
    const pump = () => {
      while (remaining > 0) {
        const n = Math.min(remaining, CHUNK.length);
        remaining -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    socket.resume();
  });
}

function echo(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
}

function listen(handler: (socket: Socket) => void): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    handler(socket);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    }),
  );
}

const [sinkPort, sourcePort, echoPort] = await Promise.all([listen(sink), listen(source), listen(echo)]);
process.stdout.write(`${JSON.stringify({ sink: sinkPort, source: sourcePort, echo: echoPort })}\n`);
process.on('SIGTERM', () => process.exit(0));
