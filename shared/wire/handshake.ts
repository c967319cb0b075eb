// The agent's handshake, before the multiplexer starts: the gateway sends a challenge, the
// agent answers with a hello signed over it, the gateway answers welcome or closes with a code.
// Each is one binary WebSocket message holding UTF-8 JSON (at most MAX_HANDSHAKE_BYTES).

export const PROTOCOL_VERSION = 1;
export const MAX_HANDSHAKE_BYTES = 16 * 1024;

export interface Challenge {
  type: 'challenge';
  protocol: number;
  nonce: string;
}

export interface Hello {
  type: 'hello';
  protocol: number;
  cluster_id: string;
  /** base64 Ed25519 public key */
  public_key: string;
  /** base64 signature over the challenge (shared/identity.ts) */
  signature: string;
  agent_version: string;
  /** ms; the gateway pings at this interval too (bounded) */
  heartbeat_interval: number;
  /** present only on the first connection, to enroll public_key */
  enrollment_token?: string;
}

export interface Welcome {
  type: 'welcome';
  session_id: string;
  heartbeat_interval: number;
}

export interface HandshakeError {
  type: 'error';
  code: AgentErrorCode;
  message: string;
}

export type AgentErrorCode = 'unauthorized' | 'revoked' | 'unknown_cluster' | 'bad_handshake' | 'overloaded';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Validates an untrusted hello; returns a reason when it is not one. */
export function checkHello(message: Record<string, unknown>): string | undefined {
  const m = message as Partial<Hello>;
  if (m.type !== 'hello') return 'expected a hello';
  if (m.protocol !== PROTOCOL_VERSION)
    return `unsupported protocol ${String(m.protocol)}; this gateway speaks ${PROTOCOL_VERSION}`;
  if (typeof m.cluster_id !== 'string' || !UUID.test(m.cluster_id)) return 'cluster_id must be a uuid';
  if (typeof m.public_key !== 'string' || m.public_key.length > 64 || !BASE64.test(m.public_key))
    return 'bad public_key';
  if (typeof m.signature !== 'string' || m.signature.length > 128 || !BASE64.test(m.signature))
    return 'bad signature';
  if (typeof m.agent_version !== 'string' || m.agent_version.length > 64) return 'bad agent_version';
  if (typeof m.heartbeat_interval !== 'number' || !Number.isInteger(m.heartbeat_interval))
    return 'bad heartbeat_interval';
  if (
    m.enrollment_token !== undefined &&
    (typeof m.enrollment_token !== 'string' || m.enrollment_token.length > 4096)
  ) {
    return 'bad enrollment_token';
  }
  const known = new Set([
    'type',
    'protocol',
    'cluster_id',
    'public_key',
    'signature',
    'agent_version',
    'heartbeat_interval',
    'enrollment_token',
  ]);
  const unknown = Object.keys(message).find((key) => !known.has(key));
  return unknown ? `unknown field ${unknown}` : undefined;
}

export const HEARTBEAT_BOUNDS = { min: 200, max: 60_000, default: 10_000 };

export function boundHeartbeat(requested: number): number {
  return Math.min(HEARTBEAT_BOUNDS.max, Math.max(HEARTBEAT_BOUNDS.min, requested));
}
