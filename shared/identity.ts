// Agent identity: an Ed25519 key pair per agent. The agent proves possession by signing a
// fresh gateway challenge bound to its cluster, so nothing replayable crosses the wire.
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
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

/**
 * Signs with Node's native Ed25519: the same signature as tweetnacl's (Ed25519 is deterministic),
 * in a fraction of the CPU. The key is in tweetnacl's layout (secret key = seed ‖ public key).
 */
export function signChallenge(key: AgentKeyPair, clusterId: string, nonce: string): string {
  const publicKey = Buffer.from(key.publicKey).toString('base64');
  const keyObject = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: Buffer.from(key.secretKey.subarray(0, 32)).toString('base64url'),
      x: Buffer.from(key.publicKey).toString('base64url'),
    },
    format: 'jwk',
  });
  return sign(null, challengeBytes(clusterId, nonce, publicKey), keyObject).toString('base64');
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
