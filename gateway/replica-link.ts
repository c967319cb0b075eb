// The replica-to-replica link (docs/protocol.md, "Replica link"): a TCP connection on which both
// ends prove they hold a key derived from the shared encryption keys, then one mux session in
// which every stream the dialling replica opens is one tunnel to an agent the other holds.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import type { Session } from '../shared/mux/session.js';
import { sessionOverSocket } from '../shared/mux/transports.js';
import { TUNNEL_WINDOW } from '../shared/wire/limits.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { Base64, compile, Text, Uuid } from '../shared/wire/schema.js';

/** The link's limits, each named once. */
export const LINK = {
  /** One handshake message. */
  maxHandshakeMessage: 4 * 1024,
  /** From connect to the last handshake message, each way. */
  handshakeTimeoutMs: 5_000,
  /** Proofs (one per configured primary key) a hello or welcome may carry. */
  maxProofs: 8,
  /** Both ends ping this often; an unanswered ping closes the link. */
  keepaliveMs: 10_000,
  /** A link that carried no stream for this long is closed by the replica that opened it. */
  idleMs: 30_000,
  /** Connections in their handshake at once; more are closed at once (they proved nothing). */
  maxHandshakes: 64,
} as const;

/** What the MAC keys are derived for (shared/crypto.ts, Encryptor.macKeys). */
export const LINK_KEY_PURPOSE = 'gateway replica link';

const Nonce = () => Base64(64);
const Proofs = () => Type.Array(Base64(64), { minItems: 1, maxItems: LINK.maxProofs });

/** Listener → dialler, at once after the TCP connection. */
export const LinkChallenge = Type.Object({ type: Type.Literal('challenge'), nonce: Nonce() });
/** Dialler → listener: its own nonce and its proofs over both nonces. */
export const LinkHello = Type.Object({
  type: Type.Literal('hello'),
  replica: Text(200, 1),
  nonce: Nonce(),
  proofs: Proofs(),
});
/** Listener → dialler: the listener's proofs. The mux session starts right behind it. */
export const LinkWelcome = Type.Object({ type: Type.Literal('welcome'), proofs: Proofs() });
/** The first message of every link stream: which agent, and where it should dial. */
export const LinkDial = Type.Object({ type: Type.Literal('dial'), cluster_id: Uuid(), target: Text(300) });
export type LinkDial = Static<typeof LinkDial>;

const isChallenge = compile(LinkChallenge);
const isHello = compile(LinkHello);
const isWelcome = compile(LinkWelcome);
export const isLinkDial = compile(LinkDial);

export class LinkRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkRefused';
  }
}

type Role = 'dialler' | 'listener';

/** HMAC of who proves, and both nonces: a proof is good for this connection and this side only. */
function proof(key: Buffer, role: Role, challenge: string, nonce: string): Buffer {
  return createHmac('sha256', key)
    .update(`commander-replica-link-v1\n${role}\n${challenge}\n${nonce}`)
    .digest();
}

function proofs(keys: Buffer[], role: Role, challenge: string, nonce: string): string[] {
  return keys.slice(-LINK.maxProofs).map((key) => proof(key, role, challenge, nonce).toString('base64'));
}

/** True when any proof was made with any of our keys. */
function proven(keys: Buffer[], offered: string[], role: Role, challenge: string, nonce: string): boolean {
  let ok = false;
  for (const key of keys) {
    const expected = proof(key, role, challenge, nonce);
    for (const text of offered) {
      const given = Buffer.from(text, 'base64');
      // Every comparison runs, so the time taken says nothing about which one matched.
      if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
    }
  }
  return ok;
}

const linkSession = (socket: Socket, client: boolean, rest: Buffer): Session => {
  const session = sessionOverSocket(socket, client, {
    streamWindow: TUNNEL_WINDOW.gateway,
    keepaliveInterval: LINK.keepaliveMs,
    keepaliveTimeout: LINK.keepaliveMs,
  });
  socket.setNoDelay(true);
  if (rest.length > 0) session.receive(rest);
  socket.resume();
  return session;
};

const nonce = () => randomBytes(32).toString('base64');

/**
 * The listener's side of a new connection: challenge, check the hello's proofs, answer with
 * ours. Rejects (and destroys the socket) unless the peer proved the key: deny by default.
 */
export async function acceptLink(
  socket: Socket,
  keys: Buffer[],
): Promise<{ session: Session; peer: string }> {
  socket.on('error', () => {});
  try {
    const challenge = nonce();
    socket.write(encodeMessage({ type: 'challenge', nonce: challenge }));
    const { message, rest } = await readFirstMessage(
      socket,
      LINK.maxHandshakeMessage,
      LINK.handshakeTimeoutMs,
    );
    if (!isHello(message)) throw new LinkRefused(`bad hello: ${isHello.problem(message)}`);
    if (!proven(keys, message.proofs, 'dialler', challenge, message.nonce))
      throw new LinkRefused(`replica ${JSON.stringify(message.replica)} did not prove the link key`);
    socket.write(
      encodeMessage({ type: 'welcome', proofs: proofs(keys, 'listener', challenge, message.nonce) }),
    );
    return { session: linkSession(socket, false, rest), peer: message.replica };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/** The dialler's side: connect, prove the key, and require the listener to prove it too. */
export async function dialLink(address: string, keys: Buffer[], replicaId: string): Promise<Session> {
  const match = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!match) throw new LinkRefused(`bad replica address ${JSON.stringify(address)}`);
  const socket = connect({ host: match[1] as string, port: Number(match[2]) });
  socket.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LinkRefused('connect timed out')), LINK.handshakeTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const first = await readFirstMessage(socket, LINK.maxHandshakeMessage, LINK.handshakeTimeoutMs);
    if (!isChallenge(first.message))
      throw new LinkRefused(`bad challenge: ${isChallenge.problem(first.message)}`);
    if (first.rest.length > 0) throw new LinkRefused('the listener spoke before the hello');
    const challenge = first.message.nonce;
    const ours = nonce();
    socket.write(
      encodeMessage({
        type: 'hello',
        replica: replicaId,
        nonce: ours,
        proofs: proofs(keys, 'dialler', challenge, ours),
      }),
    );
    const { message, rest } = await readFirstMessage(
      socket,
      LINK.maxHandshakeMessage,
      LINK.handshakeTimeoutMs,
    );
    if (!isWelcome(message)) throw new LinkRefused(`bad welcome: ${isWelcome.problem(message)}`);
    if (!proven(keys, message.proofs, 'listener', challenge, ours))
      throw new LinkRefused(`the replica at ${address} did not prove the link key`);
    return linkSession(socket, true, rest);
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
