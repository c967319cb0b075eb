// The agent's own key, kept in its state directory (mode 0600), and what it enrolled with.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentKeyPair, generateAgentKey } from '../shared/identity.js';

interface StoredKey {
  cluster_id: string;
  public_key: string;
  secret_key: string;
}

export class AgentIdentity {
  private constructor(
    readonly key: AgentKeyPair,
    private readonly stateDir: string,
  ) {}

  get publicKey(): string {
    return Buffer.from(this.key.publicKey).toString('base64');
  }

  /** Loads the key for this cluster, creating it (0600) on first start. */
  static load(stateDir: string, clusterId: string): AgentIdentity {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = join(stateDir, 'agent-key.json');
    if (existsSync(file)) {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
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
      );
    }
    const key = generateAgentKey();
    const stored: StoredKey = {
      cluster_id: clusterId,
      public_key: Buffer.from(key.publicKey).toString('base64'),
      secret_key: Buffer.from(key.secretKey).toString('base64'),
    };
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    return new AgentIdentity(key, stateDir);
  }

  /** The enrollment token to present, if the token file holds one this key has not used yet. */
  pendingEnrollmentToken(tokenFile: string | undefined): string | undefined {
    if (!tokenFile || !existsSync(tokenFile)) return undefined;
    const token = readFileSync(tokenFile, 'utf8').trim();
    if (!token) return undefined;
    return this.usedTokens().includes(digest(token)) ? undefined : token;
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
    return (JSON.parse(readFileSync(file, 'utf8')) as { used_tokens: string[] }).used_tokens;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
