// The Commander installation's signing key (agent enrollment tokens, manager tunnel tokens):
// created once, kept encrypted in PostgreSQL, so every replica signs and verifies alike.
import { randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Encryptor } from './crypto.js';
import type { Queryable, Sql } from './db/connect.js';

export interface SigningKey {
  id: string;
  privateKey: CryptoKey | Uint8Array;
  publicKey: CryptoKey | Uint8Array;
}

export async function loadSigningKey(sql: Sql, encryptor: Encryptor): Promise<SigningKey> {
  let [row] = await sql<{ id: string; private_jwk: string; public_jwk: JWK }[]>`
    select id, private_jwk, public_jwk from gateway_signing_keys order by created_at desc limit 1`;
  if (!row) {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    const id = randomUUID();
    const privateJwk = JSON.stringify(await exportJWK(pair.privateKey));
    await sql`insert into gateway_signing_keys (id, private_jwk, public_jwk)
      values (${id}, ${encryptor.encrypt(privateJwk)}, ${sql.json((await exportJWK(pair.publicKey)) as never)})`;
    // Replicas starting together may each make one; tokens name their key (kid), so any verifies.
    [row] = await sql<{ id: string; private_jwk: string; public_jwk: JWK }[]>`
      select id, private_jwk, public_jwk from gateway_signing_keys order by created_at desc, id limit 1`;
    if (!row) throw new Error('gateway signing key was not stored');
  }
  return {
    id: row.id,
    privateKey: await importJWK(JSON.parse(encryptor.decrypt(row.private_jwk)) as JWK, 'EdDSA'),
    publicKey: await importJWK(row.public_jwk, 'EdDSA'),
  };
}

/** Loads the key on first use and keeps it; a failed load is tried again next time. */
export function signingKeyLoader(sql: Sql, encryptor: Encryptor): () => Promise<SigningKey> {
  let loading: Promise<SigningKey> | undefined;
  return () => {
    loading ??= loadSigningKey(sql, encryptor).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

/** The public key a token names, whichever replica signed it. */
export async function loadVerificationKey(
  sql: Queryable,
  id: string,
): Promise<CryptoKey | Uint8Array | undefined> {
  const [row] = await sql<
    { public_jwk: JWK }[]
  >`select public_jwk from gateway_signing_keys where id = ${id}`;
  return row ? importJWK(row.public_jwk, 'EdDSA') : undefined;
}

export type VerificationKeyLoader = (id: string) => Promise<CryptoKey | Uint8Array | undefined>;

/** Keeps the public keys it found: signing keys are never changed or deleted. */
export function verificationKeyLoader(sql: Queryable): VerificationKeyLoader {
  const found = new Map<string, CryptoKey | Uint8Array>();
  return async (id) => {
    const key = found.get(id) ?? (await loadVerificationKey(sql, id));
    if (key) found.set(id, key);
    return key;
  };
}
