// The agent's identity in a Kubernetes Secret of its namespace, so that a replaced pod comes back
// as the same agent: created on the first start (when two pods race, the loser re-reads it and
// takes the winner's key), read at every start, updated when an enrollment token is spent.
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../shared/logger.js';
import {
  type IdentityStore,
  keyDocument,
  mergeUsedTokens,
  parseKeyDocument,
  parseUsedTokensDocument,
  type StoredIdentity,
  usedTokensDocument,
} from './identity.js';
import { type Kube, KubeError } from './kube.js';
import { AgentGaveUp } from './refusal.js';

/** The Secret's fields: the same documents as the state directory's files. */
export const IDENTITY_SECRET_FIELDS = { key: 'agent-key.json', usedTokens: 'enrolled.json' } as const;

export interface SecretRef {
  namespace: string;
  name: string;
}

/** An identity kept in the state directory by an earlier agent, to move into the Secret. */
export interface PreviousIdentity {
  existing(): StoredIdentity | undefined;
  remove(): void;
}

/** Read-modify-write rounds lost to another writer before giving up. */
const WRITE_ATTEMPTS = 5;

export class SecretIdentityStore implements IdentityStore {
  private identity: StoredIdentity | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly ref: SecretRef,
    private readonly clusterId: string,
    private readonly logger: Logger,
    private readonly previous?: PreviousIdentity,
  ) {}

  get where(): string {
    return `Secret ${this.ref.namespace}/${this.ref.name}`;
  }

  async load(fresh: () => StoredIdentity): Promise<StoredIdentity> {
    for (let attempt = 1; ; attempt++) {
      const secret = await this.read();
      if (secret) {
        this.identity = this.parse(secret);
        return this.identity;
      }
      const previous = this.previous?.existing();
      const identity = previous ?? fresh();
      try {
        await this.kube.createSecret(this.ref.namespace, this.manifest(identity));
      } catch (error) {
        if (isAlreadyExists(error) && attempt < WRITE_ATTEMPTS) {
          this.logger.info(
            { identity: this.where },
            'another agent created the identity Secret first; using its key',
          );
          continue;
        }
        throw this.unusable(error, 'create');
      }
      if (previous) {
        this.previous?.remove();
        this.logger.info(
          { identity: this.where },
          'moved the agent key from the state directory into its Secret',
        );
      } else {
        this.logger.info({ identity: this.where }, 'stored a new agent key in its Secret');
      }
      this.identity = identity;
      return identity;
    }
  }

  async saveUsedTokens(usedTokens: string[]): Promise<void> {
    const mine = this.identity;
    if (!mine) throw new Error('the identity Secret was not loaded');
    for (let attempt = 1; ; attempt++) {
      const secret = await this.read();
      try {
        if (!secret) {
          // Deleted while we run: put our identity back.
          await this.kube.createSecret(this.ref.namespace, this.manifest({ ...mine, usedTokens }));
          return;
        }
        const stored = this.parse(secret);
        if (!Buffer.from(stored.key.publicKey).equals(Buffer.from(mine.key.publicKey))) {
          this.logger.warn(
            { identity: this.where },
            'the identity Secret now holds another key; left as it is',
          );
          return;
        }
        const merged = mergeUsedTokens(stored.usedTokens, usedTokens);
        if (merged.length === stored.usedTokens.length && merged.every((t, i) => t === stored.usedTokens[i]))
          return;
        const body = this.manifest({ ...mine, usedTokens: merged });
        body.metadata = { ...body.metadata, resourceVersion: secret.metadata?.resourceVersion };
        await this.kube.replaceSecret(this.ref.namespace, this.ref.name, body);
        return;
      } catch (error) {
        // Another writer (a sibling pod) came first: read its version and merge again.
        if (error instanceof KubeError && error.status === 409 && attempt < WRITE_ATTEMPTS) continue;
        throw error instanceof KubeError ? this.unusable(error, 'update') : error;
      }
    }
  }

  private async read(): Promise<V1Secret | undefined> {
    try {
      return await this.kube.readSecret(this.ref.namespace, this.ref.name);
    } catch (error) {
      throw this.unusable(error, 'read');
    }
  }

  private parse(secret: V1Secret): StoredIdentity {
    const field = (name: string) => {
      const value = secret.data?.[name];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    };
    const keyText = field(IDENTITY_SECRET_FIELDS.key);
    if (keyText === undefined) throw this.damaged(`it has no ${IDENTITY_SECRET_FIELDS.key}`);
    const parsed = parseKeyDocument(keyText, this.clusterId);
    if ('problem' in parsed) {
      if (parsed.otherCluster) {
        throw new AgentGaveUp(
          'identity_unusable',
          `${this.where} holds the key of cluster ${parsed.otherCluster}, not ${this.clusterId}: ` +
            'name another Secret with --identity-secret (COMMANDER_AGENT_IDENTITY_SECRET), or delete that one if its cluster is gone',
        );
      }
      throw this.damaged(`its ${IDENTITY_SECRET_FIELDS.key} is damaged: ${parsed.problem}`);
    }
    const usedText = field(IDENTITY_SECRET_FIELDS.usedTokens);
    const usedTokens = usedText === undefined ? [] : parseUsedTokensDocument(usedText);
    if (!usedTokens) throw this.damaged(`its ${IDENTITY_SECRET_FIELDS.usedTokens} is damaged`);
    return { key: parsed.key, usedTokens };
  }

  private manifest(identity: StoredIdentity): V1Secret {
    const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.ref.name,
        namespace: this.ref.namespace,
        labels: { 'app.kubernetes.io/name': 'commander-agent', 'app.kubernetes.io/component': 'identity' },
      },
      type: 'Opaque',
      data: {
        [IDENTITY_SECRET_FIELDS.key]: encode(keyDocument(this.clusterId, identity.key)),
        [IDENTITY_SECRET_FIELDS.usedTokens]: encode(usedTokensDocument(identity.usedTokens)),
      },
    };
  }

  private damaged(problem: string): AgentGaveUp {
    return new AgentGaveUp(
      'identity_unusable',
      `${this.where} cannot be used: ${problem}; delete it (kubectl -n ${this.ref.namespace} delete secret ${this.ref.name}), ` +
        'write a new enrollment token into the token file and start the agent again',
    );
  }

  /** A transient failure as it is (the caller retries); anything else ends it, naming what is needed. */
  private unusable(error: unknown, verb: string): Error {
    if (!(error instanceof KubeError) || error.transient) return error as Error;
    const rights =
      error.status === 401 || error.status === 403
        ? ': the agent needs get, create and update on it (the chart and the bootstrap bundle grant them)'
        : '';
    return new AgentGaveUp(
      'identity_unusable',
      `cannot ${verb} ${this.where} (HTTP ${error.status}: ${error.message})${rights}`,
    );
  }
}

function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeError && error.status === 409 && error.reason === 'AlreadyExists';
}
