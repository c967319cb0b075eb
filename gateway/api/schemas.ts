// JSON schemas shared by several routes; they also make up the OpenAPI document.

export const uuid = { type: 'string', format: 'uuid' } as const;
export const timestamp = { type: 'string', format: 'date-time' } as const;
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

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: uuid },
} as const;
