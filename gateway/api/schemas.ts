// Schemas and formats shared by several routes. Request schemas are TypeBox, so one schema is both
// ajv's validator and the handler's TypeScript type; with the response schemas they make up the
// OpenAPI document.
import { Type } from '@sinclair/typebox';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isUuid } from '../../shared/ids.js';
import { ALLOW_ENTRY_FORMS, parseAllowEntry, parseTarget } from '../../shared/targets.js';

const RFC3339 = fullFormats['date-time'] as { validate: (text: string) => boolean };
// Instants from year 1 to 9999: the database driver converts through Date, which throws on
// what it cannot read (a leap second), and PostgreSQL has no year 0.
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * String formats of the API's validators: ajv-formats' own, these replacing or added to them. A
 * format names the one parser of its kind of value, so the API stores only what the rest reads.
 */
export const FORMATS: Record<string, { validate: (text: string) => boolean; message?: string }> = {
  // PostgreSQL reads no `urn:uuid:` prefix, which ajv-formats allows.
  uuid: { validate: isUuid },
  'date-time': {
    validate: (text) => {
      if (!RFC3339.validate(text)) return false;
      const time = Date.parse(text);
      return time >= EARLIEST && time <= LATEST;
    },
    message: 'must be an RFC 3339 date-time (2024-05-01T12:00:00Z) between the years 1 and 9999',
  },
  'allow-entry': {
    validate: (text) => parseAllowEntry(text) !== undefined,
    message: `must be ${ALLOW_ENTRY_FORMS}`,
  },
  target: { validate: (text) => parseTarget(text) !== undefined, message: 'must be host:port' },
};

export const uuid = Type.String({ format: 'uuid' });
export const timestamp = Type.String({ format: 'date-time' });
export const idParams = Type.Object({ id: uuid }, { additionalProperties: false });

/**
 * A name as Commander takes it: free text of printable Unicode, spaces included, at most 255
 * characters, no control characters or line breaks, not only spaces.
 */
export const freeName = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^(?!\\s*$)[^\\p{Cc}\\p{Zl}\\p{Zp}]+$',
  description: 'free text: printable Unicode (spaces too), at most 255 characters, no control characters',
});

/** `?without_archived=true` leaves archived objects out of a list, as in Commander. */
export const archivedQuery = Type.Object(
  { without_archived: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

/** A current_revision a PUT carries: the revision the caller read. */
export const currentRevision = Type.Integer({
  minimum: 0,
  maximum: 2_147_483_647,
  description: 'the revision read before this change; a stale one answers 409 REVISION_CONFLICT',
});

// Response shapes below are plain JSON schemas: they document and serialize (handlers return rows
// with Dates), they type nothing.
export const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

const errorResponses = { '4xx': errorSchema, '5xx': errorSchema };

/** A route's response schemas: the success answers given plus the error shape. */
export function responses<T extends Record<number, unknown>>(ok: T) {
  return { ...ok, ...errorResponses };
}

/** What every archivable object answers besides its own fields. */
export const archivedFields = {
  archived_at: nullableTimestamp,
  archive_number: {
    type: ['string', 'null'],
    description: 'null while live; once archived, 1 for the first archived object of its name, then 2…',
  },
} as const;
