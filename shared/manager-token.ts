// Short-lived tokens with which manager replicas open tunnels through the gateway: signed with
// the installation's signing key, accepted only by the tunnel endpoint, for any workspace.
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { SigningKey, VerificationKeyLoader } from './signing-key.js';

const AUDIENCE = 'commander-manager-tunnel';

export async function issueManagerToken(key: SigningKey, replica: string, ttlSeconds = 120): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: key.id })
    .setAudience(AUDIENCE)
    .setSubject(replica)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key.privateKey);
}

/** The replica's name when the credential is a valid manager token; undefined otherwise. */
export async function verifyManagerToken(
  loadKey: VerificationKeyLoader,
  credential: string,
): Promise<string | undefined> {
  if (credential.split('.').length !== 3) return undefined;
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(credential).kid;
  } catch {
    return undefined;
  }
  const key = kid ? await loadKey(kid) : undefined;
  if (!key) return undefined;
  try {
    const { payload } = await jwtVerify(credential, key, { audience: AUDIENCE, algorithms: ['EdDSA'] });
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
