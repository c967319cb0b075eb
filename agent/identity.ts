// The agent's own key and the enrollment tokens it has spent, kept by an IdentityStore: its state
// directory (agent/identity-file.ts) or, inside a cluster, a Kubernetes Secret (identity-secret.ts).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../shared/config.js';
import { enrollmentTokenProblem } from '../shared/enrollment.js';
import { type AgentKeyPair, generateAgentKey } from '../shared/identity.js';
import { AgentGaveUp, newTokenAdvice } from './refusal.js';

/** What a store keeps: the key, and the digests of the enrollment tokens spent, newest last. */
export interface StoredIdentity {
  key: AgentKeyPair;
  usedTokens: string[];
}

export interface IdentityStore {
  /** Where the identity is kept, for messages: a file or a Secret. */
  readonly where: string;
  /** The identity kept there, or `fresh()` stored as the new one (the first start). */
  load(fresh: () => StoredIdentity): Promise<StoredIdentity>;
  /** Records the spent tokens' digests (the whole list, newest last). */
  saveUsedTokens(usedTokens: string[]): Promise<void>;
}

/** How many spent tokens are remembered: enough for every re-enrollment a person will do. */
const USED_TOKENS_KEPT = 20;

/** The key document, `agent-key.json` in the state dir and in the Secret alike. */
interface KeyDocument {
  cluster_id: string;
  public_key: string;
  secret_key: string;
}

export function keyDocument(clusterId: string, key: AgentKeyPair): string {
  const document: KeyDocument = {
    cluster_id: clusterId,
    public_key: Buffer.from(key.publicKey).toString('base64'),
    secret_key: Buffer.from(key.secretKey).toString('base64'),
  };
  return JSON.stringify(document);
}

/**
 * The key of a key document, or why it cannot be used. The reason never quotes the document:
 * it holds the secret key.
 */
export function parseKeyDocument(
  text: string,
  clusterId: string,
): { key: AgentKeyPair } | { problem: string; otherCluster?: string } {
  let value: Partial<Record<keyof KeyDocument, unknown>>;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON' };
  }
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof value.cluster_id !== 'string' ||
    typeof value.public_key !== 'string' ||
    typeof value.secret_key !== 'string'
  )
    return { problem: 'it lacks cluster_id, public_key or secret_key' };
  const publicKey = Buffer.from(value.public_key, 'base64');
  const secretKey = Buffer.from(value.secret_key, 'base64');
  // An Ed25519 secret key (tweetnacl's form) ends with its public key.
  if (publicKey.length !== 32 || secretKey.length !== 64 || !secretKey.subarray(32).equals(publicKey))
    return { problem: 'its key is not an Ed25519 key pair' };
  if (value.cluster_id !== clusterId)
    return {
      problem: `it belongs to cluster ${value.cluster_id.slice(0, 64)}`,
      otherCluster: value.cluster_id,
    };
  return { key: { publicKey, secretKey } };
}

export function usedTokensDocument(usedTokens: string[]): string {
  return JSON.stringify({ used_tokens: usedTokens });
}

/** The spent tokens of an `enrolled.json`, or undefined when it is damaged. */
export function parseUsedTokensDocument(text: string): string[] | undefined {
  try {
    const value = JSON.parse(text) as { used_tokens?: unknown };
    const used = value?.used_tokens;
    if (Array.isArray(used) && used.every((t) => typeof t === 'string' && /^[0-9a-f]{64}$/.test(t)))
      return used.slice(-USED_TOKENS_KEPT);
  } catch {
    // damaged
  }
  return undefined;
}

/** Both lists, without repeats, in order, newest last, bounded. */
export function mergeUsedTokens(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].slice(-USED_TOKENS_KEPT);
}

export class AgentIdentity {
  private constructor(
    readonly key: AgentKeyPair,
    private usedTokens: string[],
    private readonly store: IdentityStore,
    private readonly clusterId: string,
  ) {}

  /** Loads the identity from its store; the first start makes a new key and stores it. */
  static async open(store: IdentityStore, clusterId: string): Promise<AgentIdentity> {
    const stored = await store.load(() => ({ key: generateAgentKey(), usedTokens: [] }));
    return new AgentIdentity(stored.key, stored.usedTokens, store, clusterId);
  }

  get publicKey(): string {
    return Buffer.from(this.key.publicKey).toString('base64');
  }

  /** Where the identity is kept, for logs. */
  get where(): string {
    return this.store.where;
  }

  /**
   * The enrollment token to present, if the token file holds one this key has not used yet.
   * Throws AgentGaveUp when the file holds something else (an API error saved as the token, say).
   */
  pendingEnrollmentToken(tokenFile: string | undefined): string | undefined {
    if (!tokenFile || !existsSync(tokenFile)) return undefined;
    let token: string;
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      throw new ConfigError('--token-file', `cannot read ${tokenFile}: ${(error as Error).message}`);
    }
    if (!token || this.usedTokens.includes(digest(token))) return undefined;
    const problem = enrollmentTokenProblem(token, this.clusterId);
    if (problem) {
      const advice = newTokenAdvice({ clusterId: this.clusterId, tokenFile });
      throw new AgentGaveUp(
        'malformed_token',
        `${tokenFile} holds no enrollment token: ${problem}; ${advice}`,
      );
    }
    return token;
  }

  /** The token to enroll with, or undefined when enrolled already; gives up when there is neither. */
  enrollmentToken(tokenFile: string | undefined): string | undefined {
    const token = this.pendingEnrollmentToken(tokenFile);
    if (token || this.enrolled) return token;
    const held = !tokenFile
      ? 'there is no --token-file'
      : existsSync(tokenFile)
        ? `${tokenFile} holds no unused enrollment token`
        : `${tokenFile} does not exist`;
    throw new AgentGaveUp(
      'not_enrolled',
      `this agent is not enrolled and ${held}; ${newTokenAdvice({ clusterId: this.clusterId, tokenFile })}`,
    );
  }

  /**
   * After the gateway accepted this key with (or after) that token: never present it again. Known
   * at once; stored in the background (the promise says when, or why not).
   */
  markEnrolled(token: string): Promise<void> {
    this.usedTokens = mergeUsedTokens(this.usedTokens, [digest(token)]);
    return this.store.saveUsedTokens(this.usedTokens);
  }

  get enrolled(): boolean {
    return this.usedTokens.length > 0;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
