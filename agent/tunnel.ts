// Tunnel streams the gateway opens: read the dial request, check the allow-list (deny by
// default), dial with a timeout, answer ok or a typed error, then carry bytes both ways.
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { WireCodeOf } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { type AllowEntry, formatTarget, isAllowed, parseTarget } from '../shared/targets.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { type DialAnswer, isDialRequest } from '../shared/wire/tunnel.js';

export interface TunnelOptions {
  allow: AllowEntry[];
  dialTimeoutMs: number;
  logger: Logger;
}

type Refusal = { code: WireCodeOf<'dial'>; message: string };

export async function serveTunnel(stream: MuxStream, options: TunnelOptions): Promise<void> {
  // Errors end the stream, and its 'close' (below) ends what hangs on it; unheard, they would crash.
  stream.on('error', () => {});
  let request: Record<string, unknown>;
  let rest: Buffer;
  try {
    ({ message: request, rest } = await readFirstMessage(stream));
  } catch {
    stream.destroy();
    return;
  }
  const refuse = (refusal: Refusal) => {
    options.logger.info({ target: request.target, code: refusal.code }, 'tunnel refused');
    const answer: DialAnswer = { ok: false, ...refusal };
    stream.end(encodeMessage(answer));
  };
  const target = isDialRequest(request) ? parseTarget(request.target) : undefined;
  if (!target) return refuse({ code: 'dial_failed', message: 'bad dial request' });

  // Until it is answered, the dial belongs to the stream: when the gateway gives up or the session
  // ends, the lookup's result is dropped and the connection attempt closed, so no connection is
  // left open at the target with nobody at the other end. One deadline covers lookup and connect.
  let socket: Socket | undefined;
  let answered = false;
  const answer = (): boolean => {
    if (answered) return false;
    answered = true;
    clearTimeout(timer);
    stream.off('close', abandon);
    return true;
  };
  const abandon = () => {
    if (answer()) socket?.destroy();
  };
  const timer = setTimeout(() => {
    if (!answer()) return;
    socket?.destroy();
    refuse({
      code: 'dial_timeout',
      message: `no connection to ${formatTarget(target)} within ${options.dialTimeoutMs} ms`,
    });
  }, options.dialTimeoutMs);
  stream.once('close', abandon);
  if (stream.destroyed) return abandon();

  // Name entries match the name asked for; CIDR entries match the address we will really dial,
  // so a DNS answer cannot smuggle a forbidden address past the list.
  let address = target.host;
  if (!isIP(target.host)) {
    try {
      address = (await lookup(target.host)).address;
    } catch (error) {
      if (!answer()) return;
      if (!isAllowed(options.allow, target)) return refuse(notAllowed(target));
      return refuse({
        code: 'dial_failed',
        message: `cannot resolve ${target.host}: ${(error as Error).message}`,
      });
    }
    if (answered) return;
  }
  if (!isAllowed(options.allow, target, address)) {
    answer();
    return refuse(notAllowed(target));
  }

  const connection = netConnect({ host: address, port: target.port, allowHalfOpen: true });
  socket = connection;
  connection.setNoDelay(true);
  connection.once('error', (error) => {
    if (!answer()) return; // after the answer, the handlers below see it
    refuse({ code: 'dial_failed', message: `${formatTarget(target)}: ${error.message}` });
  });
  connection.once('connect', () => {
    if (!answer()) return;
    stream.write(encodeMessage({ ok: true }));
    if (rest.length > 0) connection.write(rest);
    // Half-close travels both ways: a FIN on one side ends only that direction on the other.
    stream.pipe(connection);
    connection.pipe(stream);
    connection.on('error', () => stream.destroy());
    // A reset stream resets the TCP connection too: a plain close would leave our FIN queued
    // behind bytes a stalled target never reads, and the target would never learn.
    const reset = () => {
      if (!connection.destroyed) connection.resetAndDestroy();
    };
    stream.on('error', reset);
    stream.on('close', () => {
      if (!(stream.readableEnded && stream.writableFinished)) return reset();
      // A clean end: what is still queued for the target goes out before the close.
      if (connection.writableFinished) connection.destroy();
      else connection.once('finish', () => connection.destroy());
    });
  });
}

function notAllowed(target: { host: string; port: number }): Refusal {
  return {
    code: 'target_not_allowed',
    message: `${formatTarget(target)} is not in this agent's --allow list`,
  };
}
