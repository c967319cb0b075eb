// The agent's own key, kept in its state directory (mode 0600), and what it enrolled with.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../shared/config.js';
import { enrollmentTokenProblem } from '../shared/enrollment.js';
import { type AgentKeyPair, generateAgentKey } from '../shared/identity.js';
import { AgentGaveUp, newTokenAdvice } from './refusal.js';

interface StoredKey {
  cluster_id: string;
  public_key: string;
  secret_key: string;
}

export class AgentIdentity {
  private constructor(
    readonly key: AgentKeyPair,
    private readonly stateDir: string,
    private readonly clusterId: string,
  ) {}

  get publicKey(): string {
    return Buffer.from(this.key.publicKey).toString('base64');
  }

  /** Loads the key for this cluster, creating it (0600) on first start. */
  static load(stateDir: string, clusterId: string): AgentIdentity {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = join(stateDir, 'agent-key.json');
    if (existsSync(file)) {
      const stored = readState<StoredKey>(
        file,
        (value) =>
          typeof value.cluster_id === 'string' &&
          typeof value.public_key === 'string' &&
          typeof value.secret_key === 'string' &&
          Buffer.from(value.public_key, 'base64').length === 32 &&
          Buffer.from(value.secret_key, 'base64').length === 64,
      );
      if (stored.cluster_id !== clusterId) {
        throw new Error(
          `${file} belongs to cluster ${stored.cluster_id}, not ${clusterId}; use another --state-dir`,
        );
      }
      return new AgentIdentity(
        {
          publicKey: Buffer.from(stored.public_key, 'base64'),
          secretKey: Buffer.from(stored.secret_key, 'base64'),
        },
        stateDir,
        clusterId,
      );
    }
    const key = generateAgentKey();
    const stored: StoredKey = {
      cluster_id: clusterId,
      public_key: Buffer.from(key.publicKey).toString('base64'),
      secret_key: Buffer.from(key.secretKey).toString('base64'),
    };
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    return new AgentIdentity(key, stateDir, clusterId);
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
    if (!token || this.usedTokens().includes(digest(token))) return undefined;
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

  /** After the gateway accepted an enrollment: never present that token again. */
  markEnrolled(token: string): void {
    const used = [...this.usedTokens(), digest(token)].slice(-20);
    writeFileSync(join(this.stateDir, 'enrolled.json'), JSON.stringify({ used_tokens: used }), {
      mode: 0o600,
    });
  }

  get enrolled(): boolean {
    return this.usedTokens().length > 0;
  }

  private usedTokens(): string[] {
    const file = join(this.stateDir, 'enrolled.json');
    if (!existsSync(file)) return [];
    return readState<{ used_tokens: string[] }>(
      file,
      (value) => Array.isArray(value.used_tokens) && value.used_tokens.every((t) => typeof t === 'string'),
    ).used_tokens;
  }
}

/** A JSON file of the state directory, checked; a damaged one is a configuration error, not a crash. */
function readState<T>(file: string, valid: (value: Record<string, unknown> & Partial<T>) => boolean): T {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('--state-dir', `cannot read ${file}: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || !valid(value as Record<string, unknown> & Partial<T>))
    throw new ConfigError(
      '--state-dir',
      `${file} is damaged; move it away (the agent then needs a new enrollment token)`,
    );
  return value as T;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
