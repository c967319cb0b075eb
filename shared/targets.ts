// Tunnel targets and allow-lists: the one parser of `host:port`, `host:*`, `CIDR:port`, with IPv6
// in brackets (`[fd00::1]:22`, `[fd00::/8]:*`). Nothing else is dialable or storable.
import { BlockList, isIP } from 'node:net';

export interface Target {
  /** A name in lowercase, or an IP literal in canonical form (IPv6 without brackets). */
  host: string;
  port: number;
}

export interface AllowEntry {
  host?: string;
  cidr?: BlockList;
  /** The subnet `cidr` holds, for formatting it back. */
  network?: { address: string; bits: number };
  /** undefined: any port (`host:*`). */
  port?: number;
  /** The entry as written. */
  text: string;
}

/** What an allow entry looks like, for error messages. */
export const ALLOW_ENTRY_FORMS = 'host:port, host:*, CIDR:port or CIDR:* (IPv6 in brackets: [fd00::/8]:22)';

// Longer texts are refused before any parsing: a name is at most 253 characters.
const MAX_TEXT = 300;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// A name whose last label is a number would be read by the resolver as an IPv4 address in one
// of inet_aton's forms (`10.1`, `0x7f000001`), so it could name an address no CIDR check sees.
const NUMERIC_LABEL = /^([0-9]+|0x[0-9a-f]*)$/;

function splitHostPort(text: string): [host: string, port: string] | undefined {
  if (text.length > MAX_TEXT) return undefined;
  const match = /^(\[[^\]]*\]|[^:[\]]+):([^:]+)$/.exec(text);
  if (!match) return undefined;
  return [match[1] as string, match[2] as string];
}

function parsePort(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** An IP literal in canonical form: IPv6 compressed and lowercased, IPv4 as isIP accepts it. */
function canonicalIp(text: string): { address: string; family: 4 | 6 } | undefined {
  const family = isIP(text);
  if (family === 4) return { address: text, family };
  if (family !== 6 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  try {
    return { address: new URL(`http://[${text}]`).hostname.slice(1, -1), family };
  } catch {
    return undefined;
  }
}

function parseName(text: string): string | undefined {
  if (text.length > 253) return undefined;
  const labels = text.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  const name = text.toLowerCase();
  return NUMERIC_LABEL.test(name.slice(name.lastIndexOf('.') + 1)) ? undefined : name;
}

/** A host as written in a target: a name, an IPv4 address or a bracketed IPv6 address. */
function parseHost(text: string): string | undefined {
  if (text.startsWith('[')) {
    const ip = canonicalIp(text.slice(1, -1));
    return ip?.family === 6 ? ip.address : undefined;
  }
  return canonicalIp(text)?.address ?? parseName(text);
}

/** `address/bits`; IPv6 only inside brackets, IPv4 only outside. */
function parseCidr(hostPart: string): { address: string; bits: number; family: 4 | 6 } | undefined {
  const bracketed = hostPart.startsWith('[');
  const inner = bracketed ? hostPart.slice(1, -1) : hostPart;
  const slash = inner.indexOf('/');
  const bitsText = inner.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const ip = canonicalIp(inner.slice(0, slash));
  if (!ip || (ip.family === 6) !== bracketed) return undefined;
  const bits = Number(bitsText);
  if (bits > (ip.family === 4 ? 32 : 128)) return undefined;
  return { ...ip, bits };
}

export function parseTarget(text: string): Target | undefined {
  const parts = splitHostPort(text);
  if (!parts) return undefined;
  const host = parseHost(parts[0]);
  const port = parsePort(parts[1]);
  return host === undefined || port === undefined ? undefined : { host, port };
}

export function parseAllowEntry(text: string): AllowEntry | undefined {
  const parts = splitHostPort(text);
  if (!parts) return undefined;
  const [hostPart, portText] = parts;
  const port = portText === '*' ? undefined : parsePort(portText);
  if (portText !== '*' && port === undefined) return undefined;
  if (hostPart.includes('/')) {
    const network = parseCidr(hostPart);
    if (!network) return undefined;
    const cidr = new BlockList();
    cidr.addSubnet(network.address, network.bits, network.family === 4 ? 'ipv4' : 'ipv6');
    return { cidr, network: { address: network.address, bits: network.bits }, port, text };
  }
  const host = parseHost(hostPart);
  return host === undefined ? undefined : { host, port, text };
}

/** Parses a whole list; throws naming the first bad entry. */
export function parseAllowList(entries: string[]): AllowEntry[] {
  return entries.map((text) => {
    const entry = parseAllowEntry(text);
    if (!entry) throw new Error(`invalid allow entry "${text}": use ${ALLOW_ENTRY_FORMS}`);
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

function formatHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export function formatTarget(target: Target): string {
  return `${formatHost(target.host)}:${target.port}`;
}

/** The canonical text of an entry: what parseAllowEntry reads back as the same entry. */
export function formatAllowEntry(entry: AllowEntry): string {
  const port = entry.port === undefined ? '*' : String(entry.port);
  if (entry.network) {
    const { address, bits } = entry.network;
    return isIP(address) === 6 ? `[${address}/${bits}]:${port}` : `${address}/${bits}:${port}`;
  }
  return `${formatHost(entry.host ?? '')}:${port}`;
}
