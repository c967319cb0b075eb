// Single-use, short-lived enrollment tokens: a JWT the gateway signs, redeemed once by an
// agent to enroll its public key for its own cluster.
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from './db/connect.js';
import { loadVerificationKey, type SigningKey } from './signing-key.js';

const AUDIENCE = 'commander-agent-enrollment';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export async function issueEnrollmentToken(
  tx: Queryable,
  key: SigningKey,
  issuer: string,
  clusterId: string,
  ttlSeconds: number,
): Promise<IssuedToken> {
  const jti = randomUUID();
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: key.id })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setSubject(clusterId)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key.privateKey);
  await tx`insert into agent_enrollment_tokens (jti, cluster_id, expires_at) values (${jti}, ${clusterId}, ${expiresAt})`;
  return { token, expiresAt };
}

export class EnrollmentError extends Error {}

/**
 * Checks the token for this cluster and marks it used, in the caller's transaction, so a token
 * enrolls at most one key even when two agents race with it.
 */
export async function redeemEnrollmentToken(tx: Queryable, token: string, clusterId: string): Promise<void> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw new EnrollmentError('enrollment token is malformed');
  }
  // Everything on the caller's transaction: a second pool connection per handshake could
  // exhaust the pool with handshakes that each wait for one more.
  const key = kid ? await loadVerificationKey(tx, kid) : undefined;
  if (!key) throw new EnrollmentError('enrollment token was not issued by this Commander');
  let jti: string | undefined;
  try {
    const { payload } = await jwtVerify(token, key, {
      audience: AUDIENCE,
      subject: clusterId,
      algorithms: ['EdDSA'],
    });
    jti = payload.jti;
  } catch (error) {
    throw new EnrollmentError(`enrollment token rejected: ${(error as Error).message}`);
  }
  if (!jti || !/^[0-9a-f-]{36}$/.test(jti)) throw new EnrollmentError('enrollment token has no valid id');
  const [used] = await tx`update agent_enrollment_tokens set used_at = now()
    where jti = ${jti ?? ''} and cluster_id = ${clusterId} and used_at is null and expires_at > now()
    returning jti`;
  if (!used) throw new EnrollmentError('enrollment token was already used or has expired');
}
