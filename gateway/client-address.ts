// The caller's address on a WebSocket upgrade, which fastify does not route: read as fastify reads
// request.ip, so X-Forwarded-For counts only from the proxies COMMANDER_TRUST_PROXY names.
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type ClientAddress = (request: IncomingMessage) => string | null;

/** The socket's peer: the address when no proxy is trusted. */
export const directAddress: ClientAddress = (request) => request.socket.remoteAddress ?? null;

export function clientAddress(trustProxy: boolean | string[] | undefined): ClientAddress {
  if (!trustProxy) return directAddress;
  const trusted = trustProxy === true ? () => true : proxyAddr.compile(trustProxy);
  return (request) => (request.socket.remoteAddress ? proxyAddr(request, trusted) : null);
}
