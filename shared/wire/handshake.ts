// The agent's handshake, before the multiplexer starts: the gateway sends a challenge, the
// agent answers with a hello signed over it, the gateway answers welcome or error and closes.
// Each is one binary WebSocket message holding UTF-8 JSON (at most MAX_HANDSHAKE_MESSAGE).
import { type Static, Type } from '@sinclair/typebox';
import { type WireCodeOf, wireCodes } from '../errors.js';
import { HEARTBEAT_MS } from './limits.js';
import { Base64, compile, Text, Uuid } from './schema.js';

export const PROTOCOL_VERSION = 1;

/** Gateway → agent, at once after the upgrade. */
export const Challenge = Type.Object({
  type: Type.Literal('challenge'),
  protocol: Type.Integer({ minimum: 1, maximum: 1_000 }),
  /** 32 random bytes */
  nonce: Base64(64),
});
export type Challenge = Static<typeof Challenge>;

/** Agent → gateway: proves possession of its key for this connection; nothing else is allowed. */
export const Hello = Type.Object(
  {
    type: Type.Literal('hello'),
    protocol: Type.Integer({ minimum: 0, maximum: 1_000 }),
    cluster_id: Uuid(),
    /** base64 Ed25519 public key */
    public_key: Base64(64),
    /** base64 signature over the challenge (shared/identity.ts) */
    signature: Base64(128),
    agent_version: Text(64),
    /** ms; the gateway clamps it to HEARTBEAT_MS */
    heartbeat_interval: Type.Integer({ minimum: 0, maximum: 24 * 3600 * 1000 }),
    /** only to enroll public_key: a compact JWT */
    enrollment_token: Type.Optional(Type.String({ maxLength: 4096, pattern: '^[A-Za-z0-9_.-]+$' })),
  },
  { additionalProperties: false },
);
export type Hello = Static<typeof Hello>;

export const Welcome = Type.Object({
  type: Type.Literal('welcome'),
  session_id: Uuid(),
  heartbeat_interval: Type.Integer({ minimum: HEARTBEAT_MS.min, maximum: HEARTBEAT_MS.max }),
});
export type Welcome = Static<typeof Welcome>;

export type HandshakeErrorCode = WireCodeOf<'handshake'>;

/** Gateway → agent, then a close: why the hello was refused. */
export const HandshakeError = Type.Object({
  type: Type.Literal('error'),
  code: Type.Unsafe<HandshakeErrorCode>({ type: 'string', enum: wireCodes('handshake') }),
  message: Text(1000),
});
export type HandshakeError = Static<typeof HandshakeError>;

export const isChallenge = compile(Challenge);
export const isHello = compile(Hello);
export const isWelcome = compile(Welcome);
export const isHandshakeError = compile(HandshakeError);

export function boundHeartbeat(requested: number): number {
  return Math.min(HEARTBEAT_MS.max, Math.max(HEARTBEAT_MS.min, requested));
}
