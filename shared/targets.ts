// Tunnel targets and allow-lists: `host:port`, `host:*` or `CIDR:port`. Nothing else is dialable.
import { BlockList, isIP } from 'node:net';

export interface Target {
  host: string;
  port: number;
}

export interface AllowEntry {
  host?: string;
  cidr?: BlockList;
  /** undefined: any port (`host:*`). */
  port?: number;
  text: string;
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function splitHostPort(text: string): [string, string] | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:\s]+):(\d{1,5}|\*)$/.exec(text);
  if (!match) return undefined;
  return [(match[1] as string).replace(/^\[|\]$/g, ''), match[2] as string];
}

function parsePort(text: string): number | undefined {
  const port = Number(text);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

export function parseTarget(text: string): Target | undefined {
  const parts = splitHostPort(text);
  if (!parts || parts[1] === '*') return undefined;
  const [host, portText] = parts;
  const port = parsePort(portText);
  if (port === undefined || (isIP(host) === 0 && !HOST.test(host))) return undefined;
  return { host: host.toLowerCase(), port };
}

export function parseAllowEntry(text: string): AllowEntry | undefined {
  const parts = splitHostPort(text.trim());
  if (!parts) return undefined;
  const [hostPart, portText] = parts;
  const port = portText === '*' ? undefined : parsePort(portText);
  if (portText !== '*' && port === undefined) return undefined;
  const slash = hostPart.indexOf('/');
  if (slash >= 0) {
    const address = hostPart.slice(0, slash);
    const bits = Number(hostPart.slice(slash + 1));
    const family = isIP(address);
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128))
      return undefined;
    const cidr = new BlockList();
    cidr.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    return { cidr, port, text };
  }
  if (isIP(hostPart) === 0 && !HOST.test(hostPart)) return undefined;
  return { host: hostPart.toLowerCase(), port, text };
}

/** Parses a whole list; throws naming the first bad entry. */
export function parseAllowList(entries: string[]): AllowEntry[] {
  return entries.map((text) => {
    const entry = parseAllowEntry(text);
    if (!entry) throw new Error(`invalid allow entry "${text}": use host:port, host:* or CIDR:port`);
    return entry;
  });
}

/**
 * True when the target may be dialed. `address` is the IP the host resolved to: CIDR entries
 * match it (or an IP-literal host), name entries match the host as written.
 */
export function isAllowed(list: AllowEntry[], target: Target, address?: string): boolean {
  return list.some((entry) => {
    if (entry.port !== undefined && entry.port !== target.port) return false;
    if (entry.host !== undefined) return entry.host === target.host;
    const ip = address ?? (isIP(target.host) ? target.host : undefined);
    if (!ip || !entry.cidr) return false;
    return entry.cidr.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  });
}

export function formatTarget(target: Target): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}
