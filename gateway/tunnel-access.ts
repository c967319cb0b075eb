// Who may open tunnels to which cluster: the caller (an API token, or a manager replica's
// short-lived token), the caller's role and workspace, and the cluster's allowed_targets,
// remembered until the cluster's row changes.
import type { IncomingMessage } from 'node:http';
import type { Sql } from '../shared/db/connect.js';
import { CommanderError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { verifyManagerToken } from '../shared/manager-token.js';
import { roleAllows } from '../shared/roles.js';
import { type VerificationKeyLoader, verificationKeyLoader } from '../shared/signing-key.js';
import { type AllowEntry, parseAllowEntry } from '../shared/targets.js';
import { type Authenticator, type Caller, credentialOf } from './auth.js';
import { type Invalidations, LookupCache } from './cache.js';

export interface ClusterAccess {
  workspaceId: string;
  allowedTargets: AllowEntry[];
}

export class TunnelAccess {
  private readonly clusters = new LookupCache<ClusterAccess>();
  private readonly managerKeys: VerificationKeyLoader;
  /** Bad allow-list entries already logged (cluster id and entry), so each is logged once. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly authenticate: Authenticator,
    private readonly logger: Logger,
    invalidations: Invalidations,
  ) {
    this.managerKeys = verificationKeyLoader(sql);
    invalidations.subscribe((change) => {
      if (!change) this.clusters.clear();
      else if (change.table === 'clusters') this.clusters.delete(change.id);
    });
  }

  /**
   * The caller may open tunnels to this cluster; refusals are CommanderErrors. Opening a tunnel
   * is on people's critical path (an ssh login, a kubectl call): the caller and the cluster
   * usually come from memory, and otherwise are looked up at once.
   */
  async authorize(request: IncomingMessage, clusterId: string) {
    const [principal, cluster] = await Promise.all([this.caller(request), this.cluster(clusterId)]);
    if (principal.scope === 'global') {
      throw new CommanderError('FORBIDDEN', "a global token cannot reach a workspace's clusters");
    }
    if (!roleAllows(principal.role, 'operator')) {
      throw new CommanderError(
        'FORBIDDEN',
        `opening tunnels needs the operator role; your token is ${principal.role}`,
      );
    }
    // Another workspace's cluster answers exactly like a missing one.
    if (!cluster || (cluster.workspaceId !== principal.workspaceId && !principal.allWorkspaces)) {
      throw new CommanderError('NOT_FOUND', `cluster ${clusterId} not found`);
    }
    return { principal, cluster };
  }

  /** A manager replica (with its short-lived token) or an API caller. */
  private async caller(request: IncomingMessage): Promise<Caller> {
    const credential = credentialOf(request);
    const replica = credential ? await verifyManagerToken(this.managerKeys, credential) : undefined;
    if (replica) {
      return {
        scope: 'workspace',
        workspaceId: '',
        workspaceSlug: '',
        role: 'admin',
        userType: 'System',
        userName: `manager ${replica}`,
        allWorkspaces: true,
      };
    }
    return this.authenticate(request);
  }

  /** Who owns the cluster and where it may be tunnelled to. */
  async cluster(clusterId: string): Promise<ClusterAccess | undefined> {
    const known = this.clusters.get(clusterId);
    if (known) return known;
    if (!isUuid(clusterId)) return undefined;
    const [row] = await this.sql<{ workspace_id: string; allowed_targets: string[] }[]>`
      select workspace_id, allowed_targets from clusters where id = ${clusterId}`;
    if (!row) return undefined;
    const access = {
      workspaceId: row.workspace_id,
      allowedTargets: this.allowList(clusterId, row.allowed_targets),
    };
    this.clusters.set(clusterId, access);
    return access;
  }

  /**
   * The entries that parse. One that does not (stored before the API checked entries, or by
   * hand) allows nothing: it is logged once, and the cluster's other entries still work.
   */
  private allowList(clusterId: string, entries: string[]): AllowEntry[] {
    const parsed: AllowEntry[] = [];
    for (const text of entries) {
      const entry = parseAllowEntry(text);
      if (entry) {
        parsed.push(entry);
        continue;
      }
      const key = `${clusterId} ${text}`;
      if (this.reported.has(key)) continue;
      if (this.reported.size >= 10_000) this.reported.clear();
      this.reported.add(key);
      this.logger.warn(
        { cluster_id: clusterId, entry: text.slice(0, 300) },
        'an allowed_targets entry does not parse; it allows nothing',
      );
    }
    return parsed;
  }
}
