// The agent's identity in its state directory: agent-key.json and enrolled.json, mode 0600. Used
// outside Kubernetes; inside, the key lives in a Secret (identity-secret.ts) and not here.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../shared/config.js';
import {
  type IdentityStore,
  keyDocument,
  parseKeyDocument,
  parseUsedTokensDocument,
  type StoredIdentity,
  usedTokensDocument,
} from './identity.js';

export class FileIdentityStore implements IdentityStore {
  private readonly keyFile: string;
  private readonly usedFile: string;

  constructor(
    private readonly stateDir: string,
    private readonly clusterId: string,
  ) {
    this.keyFile = join(stateDir, 'agent-key.json');
    this.usedFile = join(stateDir, 'enrolled.json');
  }

  get where(): string {
    return this.keyFile;
  }

  async load(fresh: () => StoredIdentity): Promise<StoredIdentity> {
    const existing = this.existing();
    if (existing) return existing;
    const identity = fresh();
    writeFileSync(this.keyFile, keyDocument(this.clusterId, identity.key), { mode: 0o600, flag: 'wx' });
    return identity;
  }

  /** The identity these files hold, or undefined when there is none; damaged files are a config error. */
  existing(): StoredIdentity | undefined {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    if (!existsSync(this.keyFile)) return undefined;
    const parsed = parseKeyDocument(read(this.keyFile), this.clusterId);
    if ('problem' in parsed) {
      if (parsed.otherCluster)
        throw new ConfigError(
          '--state-dir',
          `${this.keyFile} belongs to cluster ${parsed.otherCluster}, not ${this.clusterId}; use another --state-dir`,
        );
      throw damaged(this.keyFile);
    }
    let usedTokens: string[] = [];
    if (existsSync(this.usedFile)) {
      const parsedUsed = parseUsedTokensDocument(read(this.usedFile));
      if (!parsedUsed) throw damaged(this.usedFile);
      usedTokens = parsedUsed;
    }
    return { key: parsed.key, usedTokens };
  }

  async saveUsedTokens(usedTokens: string[]): Promise<void> {
    writeFileSync(this.usedFile, usedTokensDocument(usedTokens), { mode: 0o600 });
  }

  /** Removes both files (their identity moved into a Secret). */
  remove(): void {
    rmSync(this.keyFile, { force: true });
    rmSync(this.usedFile, { force: true });
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('--state-dir', `cannot read ${file}: ${(error as Error).message}`);
  }
}

/** A damaged file of the state directory is a configuration error, not a crash. */
function damaged(file: string): ConfigError {
  return new ConfigError(
    '--state-dir',
    `${file} is damaged; move it away (the agent then needs a new enrollment token)`,
  );
}
