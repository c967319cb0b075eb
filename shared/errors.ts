// The one catalogue of error codes, shared by the HTTP API and the agent wire.
// Codes are stable: clients match on them, so never rename one.

export const errorCatalogue = {
  UNAUTHORIZED: { status: 401, message: 'missing, unknown or revoked token' },
  FORBIDDEN: { status: 403, message: 'your role does not allow this' },
  NOT_FOUND: { status: 404, message: 'not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  VALIDATION_FAILED: { status: 400, message: 'the request is invalid' },
  INVALID_JSON: { status: 400, message: 'the body is not valid JSON' },
  INVALID_MANIFESTS: { status: 400, message: 'one or more manifests are invalid; nothing was stored' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported content type' },
  NAME_TAKEN: { status: 409, message: 'the name is already taken' },
  CONFLICT: { status: 409, message: 'the object changed state' },
  NOT_READY: { status: 503, message: 'not ready' },
  BUSY: { status: 503, message: 'too much work in progress; retry in a few seconds' },
  UPGRADE_REQUIRED: { status: 426, message: 'this endpoint speaks WebSocket only' },
  TARGET_NOT_ALLOWED: { status: 403, message: 'target_not_allowed' },
  AGENT_OFFLINE: { status: 503, message: 'agent_offline' },
  DIAL_FAILED: { status: 502, message: 'dial_failed' },
  DIAL_TIMEOUT: { status: 504, message: 'dial_timeout' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class CommanderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? errorCatalogue[code].message);
    this.name = 'CommanderError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = details;
  }
}

/** The error body every API failure answers with. */
export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
