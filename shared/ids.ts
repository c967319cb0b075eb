// Ids are UUIDs, written as PostgreSQL prints them: lower-case hex in 8-4-4-4-12 groups. One
// pattern for every place an id arrives: API paths and queries, wire messages, the agent's URL,
// enrollment tokens. People may type an id in upper case; it names the same object.

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
