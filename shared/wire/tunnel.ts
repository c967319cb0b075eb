// The opening exchange of every tunnel stream (docs/protocol.md, "Tunnel streams"): the dial
// request, then the answer; both length-prefixed JSON, at most MAX_DIAL_MESSAGE each.
import { type Static, Type } from '@sinclair/typebox';
import { compile, Text } from './schema.js';

/** Opener → acceptor: connect to `target` (host:port, parsed by shared/targets.ts). */
export const DialRequest = Type.Object({
  type: Type.Literal('dial'),
  /** A DNS name of up to 253 characters or a bracketed IPv6 literal, a colon and a port. */
  target: Text(300),
});
export type DialRequest = Static<typeof DialRequest>;

/**
 * Acceptor → opener. A refusal's code is one of the `dial` codes (from an agent) or `answer`
 * codes (from the gateway) of shared/errors.ts; a reader maps a code it does not know to its
 * layer's fallback, so newer peers may add codes.
 */
export const DialAnswer = Type.Union([
  Type.Object({ ok: Type.Literal(true) }),
  Type.Object({
    ok: Type.Literal(false),
    code: Type.String({ maxLength: 64, pattern: '^[a-z][a-z_]*$' }),
    message: Text(1000),
  }),
]);
export type DialAnswer = Static<typeof DialAnswer>;

export const isDialRequest = compile(DialRequest);
export const isDialAnswer = compile(DialAnswer);
