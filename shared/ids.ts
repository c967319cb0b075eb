// Ids are UUIDs, written as PostgreSQL prints them: lower-case hex in 8-4-4-4-12 groups. One
// pattern for every place an id arrives: API paths and queries, wire messages, the agent's URL,
// enrollment tokens. People may type an id in upper case; it names the same object.
import { createHash } from 'node:crypto';

/** The canonical form, which wire messages must use. */
export const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ANY_CASE = new RegExp(`^${UUID_PATTERN}$`, 'i');

/** True for a UUID in either case. */
export function isUuid(text: string): boolean {
  return ANY_CASE.test(text);
}

/** The canonical (lower-case) form of a UUID in either case, or undefined when it is none. */
export function parseUuid(text: string): string | undefined {
  return isUuid(text) ? text.toLowerCase() : undefined;
}

/** A stable UUID (version 5 layout) for something named by text, such as a cluster's agent data. */
export function derivedUuid(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
