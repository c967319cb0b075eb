// Single-use, short-lived enrollment tokens: a JWT the gateway signs, redeemed once by an
// agent to enroll its public key for its own cluster.
import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from './db/connect.js';
import { isUuid } from './ids.js';
import { loadVerificationKey, type SigningKey } from './signing-key.js';

const AUDIENCE = 'commander-agent-enrollment';
/** The hello's limit on `enrollment_token` (shared/wire/handshake.ts). */
const MAX_TOKEN_CHARS = 4096;

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

/**
 * Why `text` is not an enrollment token for `clusterId`, judged by its form alone (no key, no
 * database, no clock): a compact EdDSA JWT with a key id, our audience and the cluster as its
 * subject. Undefined when it may be one; only the gateway can tell whether it is still good.
 * The reason never quotes the text: it may be a secret.
 */
export function enrollmentTokenProblem(text: string, clusterId: string): string | undefined {
  if (text.startsWith('{') || text.startsWith('<')) {
    const code = /"code"\s*:\s*"([A-Z_]{1,40})"/.exec(text)?.[1];
    return code
      ? `it holds an API error (${code}), not a token`
      : 'it holds a JSON or HTML document, not a token';
  }
  if (text.startsWith('cmdr_')) return 'it is an API token, not an enrollment token';
  if (text.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text))
    return 'it is not a JWT (three base64url parts joined by dots)';
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(text);
    claims = decodeJwt(text);
  } catch {
    return 'its header or claims are not JSON';
  }
  if (header.alg !== 'EdDSA' || typeof header.kid !== 'string')
    return 'it is not signed by a Commander gateway';
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(AUDIENCE)) return 'it is not an agent enrollment token';
  if (typeof claims.sub !== 'string' || !isUuid(claims.sub)) return 'it names no cluster';
  if (claims.sub !== clusterId) return `it is for cluster ${claims.sub}, not ${clusterId}`;
  return undefined;
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
