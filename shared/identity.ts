// Agent identity: an Ed25519 key pair per agent. The agent proves possession by signing a
// fresh gateway challenge bound to its cluster, so nothing replayable crosses the wire.
import { createPublicKey, verify } from 'node:crypto';
import nacl from 'tweetnacl';

const CONTEXT = 'commander-agent-auth-v1';

export interface AgentKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateAgentKey(): AgentKeyPair {
  return nacl.sign.keyPair();
}

function challengeBytes(clusterId: string, nonce: string, publicKey: string): Uint8Array {
  return Buffer.from(`${CONTEXT}\n${clusterId}\n${nonce}\n${publicKey}`, 'utf8');
}

export function signChallenge(key: AgentKeyPair, clusterId: string, nonce: string): string {
  const publicKey = Buffer.from(key.publicKey).toString('base64');
  return Buffer.from(nacl.sign.detached(challengeBytes(clusterId, nonce, publicKey), key.secretKey)).toString(
    'base64',
  );
}

/**
 * Verifies with Node's native Ed25519 (the same algorithm tweetnacl signs with): about 40x
 * faster than tweetnacl's verify, which matters when a thousand agents reconnect at once.
 */
export function verifyChallenge(
  publicKey: string,
  signature: string,
  clusterId: string,
  nonce: string,
): boolean {
  const key = Buffer.from(publicKey, 'base64');
  const sig = Buffer.from(signature, 'base64');
  if (key.length !== nacl.sign.publicKeyLength || sig.length !== nacl.sign.signatureLength) return false;
  const keyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') },
    format: 'jwk',
  });
  return verify(null, challengeBytes(clusterId, nonce, publicKey), keyObject, sig);
}
