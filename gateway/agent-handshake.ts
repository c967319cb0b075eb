// The gateway's side of the agent handshake (docs/protocol.md, "Handshake"): the challenge, the
// wait for a hello (in a bounded room, oldest out first), the hello's checks, and the database
// transaction that finds the key enrolled (or enrolls it) and records the session.
import { randomBytes, randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import type { Sql } from '../shared/db/connect.js';
import { EnrollmentError, redeemEnrollmentToken } from '../shared/enrollment.js';
import { verifyChallenge } from '../shared/identity.js';
import {
  type Challenge,
  type HandshakeErrorCode,
  type Hello,
  isHello,
  PROTOCOL_VERSION,
} from '../shared/wire/handshake.js';
import { HELLO_TIMEOUT_MS, MAX_HANDSHAKE_MESSAGE } from '../shared/wire/limits.js';

/** Sent when a session is accepted: replicas holding an older one for the cluster drop it. */
export const SESSION_CHANNEL = 'commander_agent_session';

export class HandshakeRefused extends Error {
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
    /** False for a connection that never sent a well-formed hello: not worth a warning each. */
    readonly claimed = true,
  ) {
    super(message);
  }
}

/**
 * Connections that were sent a challenge and have not answered. They have proven nothing, so
 * they are bounded on their own: when the room is full the oldest leaves for the newest. A real
 * agent answers within a round trip, so it is never the oldest for long; idle sockets, however
 * many, cannot keep it out.
 */
export class HelloRoom {
  private readonly waiting = new Map<WebSocket, (refusal: HandshakeRefused) => void>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves with the connection's first message, checked as a hello; rejects with a refusal. */
  hello(ws: WebSocket): Promise<Hello> {
    return new Promise((resolve, reject) => {
      const finish = (refusal?: HandshakeRefused, hello?: Hello) => {
        clearTimeout(timer);
        this.waiting.delete(ws);
        ws.off('message', onMessage);
        ws.off('close', onClose);
        if (refusal) reject(refusal);
        else resolve(hello as Hello);
      };
      const timer = setTimeout(
        () => finish(new HandshakeRefused('bad_handshake', 'no hello in time', false)),
        HELLO_TIMEOUT_MS,
      );
      const onMessage = (data: RawData, isBinary: boolean) => {
        const bytes = data as Buffer;
        if (!isBinary || bytes.length > MAX_HANDSHAKE_MESSAGE)
          return finish(
            new HandshakeRefused(
              'bad_handshake',
              'the hello must be one binary message of at most 16 KiB',
              false,
            ),
          );
        let message: unknown;
        try {
          message = JSON.parse(bytes.toString('utf8'));
        } catch {
          return finish(new HandshakeRefused('bad_handshake', 'the hello is not JSON', false));
        }
        const problem = isHello.problem(message);
        if (problem) return finish(new HandshakeRefused('bad_handshake', `bad hello: ${problem}`, false));
        finish(undefined, message as Hello);
      };
      const onClose = () =>
        finish(new HandshakeRefused('bad_handshake', 'closed during the handshake', false));
      ws.on('message', onMessage);
      ws.on('close', onClose);
      if (this.waiting.size >= this.capacity) {
        const [oldest] = this.waiting.values();
        oldest?.(
          new HandshakeRefused(
            'bad_handshake',
            'no hello in time: too many connections wait for theirs',
            false,
          ),
        );
      }
      this.waiting.set(ws, finish);
    });
  }

  /** Refuses every waiting connection (the gateway is stopping). */
  clear(): void {
    for (const refuse of [...this.waiting.values()])
      refuse(new HandshakeRefused('bad_handshake', 'the gateway is shutting down', false));
  }
}

/** Sends the challenge; returns its nonce. */
export function sendChallenge(ws: WebSocket): string {
  const nonce = randomBytes(32).toString('base64');
  const challenge: Challenge = { type: 'challenge', protocol: PROTOCOL_VERSION, nonce };
  ws.send(Buffer.from(JSON.stringify(challenge)));
  return nonce;
}

/** What needs no database: the protocol, the cluster and the signature over this challenge. */
export function checkHello(hello: Hello, clusterId: string, nonce: string): void {
  if (hello.protocol !== PROTOCOL_VERSION) {
    throw new HandshakeRefused(
      'bad_handshake',
      `unsupported protocol ${hello.protocol}; this gateway speaks ${PROTOCOL_VERSION}`,
    );
  }
  if (hello.cluster_id !== clusterId)
    throw new HandshakeRefused('unauthorized', 'hello is for another cluster');
  let verified = false;
  try {
    verified = verifyChallenge(hello.public_key, hello.signature, clusterId, nonce);
  } catch {
    // a key the crypto library cannot load: no signature can match it
  }
  if (!verified) throw new HandshakeRefused('unauthorized', 'signature does not match the challenge');
}

/**
 * In one transaction: the cluster exists, the key is enrolled and not revoked (or an enrollment
 * token enrolls it), and the cluster is marked connected to a new session. Returns its id.
 */
export async function acceptHello(
  sql: Sql,
  clusterId: string,
  hello: Hello,
  replicaId: string,
): Promise<string> {
  const sessionId = randomUUID();
  await sql.begin(async (tx) => {
    const [cluster] =
      await tx`select id from clusters where id = ${clusterId} and archived_at is null for update`;
    if (!cluster) throw new HandshakeRefused('unknown_cluster', 'no such cluster');
    if (hello.enrollment_token) {
      try {
        await redeemEnrollmentToken(tx, hello.enrollment_token, clusterId);
      } catch (error) {
        if (error instanceof EnrollmentError) throw new HandshakeRefused('unauthorized', error.message);
        throw error;
      }
      await tx`insert into agents (cluster_id, public_key) values (${clusterId}, ${hello.public_key})
        on conflict (cluster_id) do update set public_key = excluded.public_key, enrolled_at = now(), revoked_at = null`;
      // A newly enrolled agent numbers its reports from 1 again.
      await tx`update clusters set agent_seq = 0 where id = ${clusterId}`;
    } else {
      const [agent] = await tx<{ public_key: string; revoked_at: Date | null }[]>`
        select public_key, revoked_at from agents where cluster_id = ${clusterId}`;
      if (!agent || agent.public_key !== hello.public_key)
        throw new HandshakeRefused('unauthorized', 'this key is not enrolled for the cluster');
      if (agent.revoked_at) throw new HandshakeRefused('revoked', 'this agent key was revoked; enroll again');
    }
    await tx`update clusters set agent_status = 'connected', last_seen_at = now(), agent_version = ${hello.agent_version},
        agent_replica = ${replicaId}, agent_session_id = ${sessionId}, agent_connected_at = now()
      where id = ${clusterId}`;
    await tx`select pg_notify(${SESSION_CHANNEL}, ${JSON.stringify({ cluster_id: clusterId, session_id: sessionId })})`;
  });
  return sessionId;
}
