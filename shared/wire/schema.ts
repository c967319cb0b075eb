// Wire messages are TypeBox schemas: the TypeScript type comes from the schema, and the check
// is the schema compiled once by ajv. A failed check names the field, never guesses a fix.
import type { Static, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { UUID_PATTERN } from '../ids.js';

let ajv: Ajv | undefined;

/** Never coerces, never fills defaults, never drops fields: what arrived is what is checked. */
function validator(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false, useDefaults: false });
    addFormats.default(ajv, ['date-time', 'uuid']);
  }
  return ajv;
}

export interface Check<T> {
  /** True when `value` is a valid message of this shape. */
  (value: unknown): value is T;
  /** Why `value` is not one ("sample.nodes must be <= 2147483647"), or undefined when it is. */
  problem(value: unknown): string | undefined;
}

/** A check for one schema; compiled on first use, then reused. */
export function compile<T extends TSchema>(schema: T): Check<Static<T>> {
  let compiled: ValidateFunction | undefined;
  const run = (value: unknown) => {
    compiled ??= validator().compile(schema);
    return compiled(value);
  };
  const check = ((value: unknown) => run(value)) as Check<Static<T>>;
  check.problem = (value) => {
    if (run(value)) return undefined;
    const [error] = compiled?.errors ?? [];
    if (!error) return 'invalid';
    const field = error.instancePath.slice(1).replaceAll('/', '.') || 'message';
    if (error.keyword === 'additionalProperties')
      return `${field} has an unknown field "${String(error.params.additionalProperty)}"`;
    return `${field} ${error.message ?? 'is invalid'}`;
  };
  return check;
}

/**
 * Text PostgreSQL can hold as `text` and inside `jsonb`: no NUL, no lone surrogate (ajv matches
 * patterns by code point, so a surrogate pair is one character and passes).
 */
export function Text(maxLength: number, minLength = 0) {
  return Type.String({ maxLength, ...(minLength > 0 ? { minLength } : {}), pattern: TEXT });
}
const TEXT = '^[^\\u0000\\uD800-\\uDFFF]*$';

export const Hex64 = () => Type.String({ pattern: '^[0-9a-f]{64}$' });
export const Hex16 = () => Type.String({ pattern: '^[0-9a-f]{16}$' });
/** A UUID as PostgreSQL prints it (lower case), e.g. a cluster id in a path. */
export const Uuid = () => Type.String({ pattern: `^${UUID_PATTERN}$` });
export const Base64 = (maxLength: number) => Type.String({ maxLength, pattern: '^[A-Za-z0-9+/]+={0,2}$' });
/** An integer JavaScript holds exactly, from `minimum`. */
export const SafeInteger = (minimum = 0, description?: string) =>
  Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER, ...(description ? { description } : {}) });
/** An integer a PostgreSQL `integer` column holds. */
export const Int32 = (minimum = 0) => Type.Integer({ minimum, maximum: 2 ** 31 - 1 });
