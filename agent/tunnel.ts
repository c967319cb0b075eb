// Tunnel streams the gateway opens: read the dial request, check the allow-list (deny by
// default), dial with a timeout, answer ok or a typed error, then carry bytes both ways.
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect } from 'node:net';
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
  // Name entries match the name asked for; CIDR entries match the address we will really dial,
  // so a DNS answer cannot smuggle a forbidden address past the list.
  let address = target.host;
  if (!isIP(target.host)) {
    try {
      address = (await lookup(target.host)).address;
    } catch (error) {
      if (!isAllowed(options.allow, target)) return refuse(notAllowed(target));
      return refuse({
        code: 'dial_failed',
        message: `cannot resolve ${target.host}: ${(error as Error).message}`,
      });
    }
  }
  if (!isAllowed(options.allow, target, address)) return refuse(notAllowed(target));

  const socket = netConnect({ host: address, port: target.port, allowHalfOpen: true });
  socket.setNoDelay(true);
  const timer = setTimeout(() => {
    socket.destroy();
    refuse({
      code: 'dial_timeout',
      message: `no connection to ${formatTarget(target)} within ${options.dialTimeoutMs} ms`,
    });
  }, options.dialTimeoutMs);
  let connected = false;
  socket.once('error', (error) => {
    clearTimeout(timer);
    if (connected) return;
    refuse({ code: 'dial_failed', message: `${formatTarget(target)}: ${error.message}` });
  });
  socket.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    stream.write(encodeMessage({ ok: true }));
    if (rest.length > 0) socket.write(rest);
    // Half-close travels both ways: a FIN on one side ends only that direction on the other.
    stream.pipe(socket);
    socket.pipe(stream);
    socket.on('error', () => stream.destroy());
    // A reset stream resets the TCP connection too: a plain close would leave our FIN queued
    // behind bytes a stalled target never reads, and the target would never learn.
    const reset = () => {
      if (!socket.destroyed) socket.resetAndDestroy();
    };
    stream.on('error', reset);
    stream.on('close', () => {
      if (!(stream.readableEnded && stream.writableFinished)) return reset();
      // A clean end: what is still queued for the target goes out before the close.
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    });
  });
}

function notAllowed(target: { host: string; port: number }): Refusal {
  return {
    code: 'target_not_allowed',
    message: `${formatTarget(target)} is not in this agent's --allow list`,
  };
}
