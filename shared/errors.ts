// The one catalogue of error codes: the HTTP API's (upper case, each with its status) and the
// wire's (lower case: the multiplexer, length-prefixed messages, the agent handshake, tunnels).
// Codes are stable: clients and agents match on them, so never rename one.

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
  REVISION_CONFLICT: {
    status: 409,
    message: 'revision_conflict: the object changed since current_revision; read it again and retry',
  },
  VERSION_IN_USE: { status: 409, message: 'a cluster uses this template version; make a new version' },
  INVALID_VALUES: { status: 422, message: "the values do not match the template version's params" },
  NOT_READY: { status: 503, message: 'not ready' },
  BUSY: { status: 503, message: 'too much work in progress; retry in a few seconds' },
  UNAVAILABLE: { status: 503, message: 'the database is unreachable; retry in a few seconds' },
  UPGRADE_REQUIRED: { status: 426, message: 'this endpoint speaks WebSocket only' },
  TARGET_NOT_ALLOWED: { status: 403, message: 'the target is not allowed' },
  AGENT_OFFLINE: { status: 503, message: 'the cluster has no agent connected' },
  DIAL_FAILED: { status: 502, message: 'the agent could not connect to the target' },
  DIAL_TIMEOUT: { status: 504, message: 'the agent timed out connecting to the target' },
  // Change requests: Commander's clients look for these words (lower case) in a 409's body.
  ALREADY_APPROVED: { status: 409, message: 'already_approved: the change request is approved already' },
  ALREADY_COMPLETED: { status: 409, message: 'already_completed: the change request is closed' },
  CLUSTER_CANNOT_BE_CONVERGED: {
    status: 409,
    message: 'cluster_cannot_be_converged: the cluster is not in a state that a change can be applied to',
  },
  INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

/**
 * Where a wire code occurs:
 * - `mux`: a session's or stream's typed failure (close codes in mux/transports.ts);
 * - `message`: reading a length-prefixed JSON message;
 * - `handshake`: the gateway refusing an agent's hello;
 * - `dial`: the agent refusing or failing a tunnel's dial;
 * - `tunnel`: a tunnel failing at the gateway (the dial's codes and `agent_offline`);
 * - `answer`: a tunnel refusal as clients see it (a multiplexed stream's answer);
 * - `client`: what the tunnel client library reports.
 * `api` is the HTTP code the same refusal has on the tunnel WebSocket.
 */
export const wireCatalogue = {
  protocol_error: { layers: ['mux'] },
  keepalive_timeout: { layers: ['mux'] },
  session_closed: { layers: ['mux'] },
  remote_go_away: { layers: ['mux'] },
  stream_reset: { layers: ['mux'] },
  backlog_full: { layers: ['mux'] },
  too_many_streams: { layers: ['mux'] },
  transport_error: { layers: ['mux'] },
  internal_error: { layers: ['mux'] },

  message_too_large: { layers: ['message'] },
  malformed_message: { layers: ['message'] },
  unexpected_end: { layers: ['message'] },

  unauthorized: { layers: ['handshake', 'answer', 'client'], api: 'UNAUTHORIZED' },
  revoked: { layers: ['handshake'] },
  unknown_cluster: { layers: ['handshake'] },
  bad_handshake: { layers: ['handshake'] },
  /** Reserved: overload is refused with HTTP 503 before the upgrade. */
  overloaded: { layers: ['handshake'] },

  forbidden: { layers: ['answer', 'client'], api: 'FORBIDDEN' },
  not_found: { layers: ['answer', 'client'], api: 'NOT_FOUND' },
  target_not_allowed: { layers: ['dial', 'tunnel', 'answer', 'client'], api: 'TARGET_NOT_ALLOWED' },
  dial_failed: { layers: ['dial', 'tunnel', 'answer', 'client'], api: 'DIAL_FAILED' },
  dial_timeout: { layers: ['dial', 'tunnel', 'answer', 'client'], api: 'DIAL_TIMEOUT' },
  agent_offline: { layers: ['tunnel', 'answer', 'client'], api: 'AGENT_OFFLINE' },
  tunnel_failed: { layers: ['client'] },
} as const satisfies Record<string, { layers: readonly string[]; api?: ErrorCode }>;

type WireCatalogue = typeof wireCatalogue;
export type WireCode = keyof WireCatalogue;
export type WireLayer = WireCatalogue[WireCode]['layers'][number];
/** The codes of one layer, as a type. */
export type WireCodeOf<L extends WireLayer> = {
  [C in WireCode]: L extends WireCatalogue[C]['layers'][number] ? C : never;
}[WireCode];

/** The codes of one layer, in catalogue order. */
export function wireCodes<L extends WireLayer>(layer: L): WireCodeOf<L>[] {
  return (Object.keys(wireCatalogue) as WireCode[]).filter((code) =>
    (wireCatalogue[code].layers as readonly string[]).includes(layer),
  ) as WireCodeOf<L>[];
}

export function isWireCode<L extends WireLayer>(layer: L, value: unknown): value is WireCodeOf<L> {
  return (
    typeof value === 'string' &&
    Object.hasOwn(wireCatalogue, value) &&
    (wireCatalogue[value as WireCode].layers as readonly string[]).includes(layer)
  );
}

/** The HTTP code of a tunnel refusal. */
export function apiCodeOf(code: WireCodeOf<'answer'>): ErrorCode {
  return wireCatalogue[code].api;
}

/** The lower-case code a tunnel client sees for an HTTP code, if it has one. */
export function answerCodeOf(code: string): WireCodeOf<'answer'> | undefined {
  return wireCodes('answer').find((wire) => wireCatalogue[wire].api === code);
}

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
