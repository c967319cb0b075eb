// Messages on the control stream after the handshake (docs/protocol.md): desired-state pulls and
// their answers, nudges, and the agent's reports. Every message from the other side is checked
// here before anything acts on it.
import { RESOURCE_LIMITS } from '../manifests.js';

/** Control messages may carry a manifest of up to 2 MiB plus its envelope. */
export const MAX_CONTROL_MESSAGE = 4 * 1024 * 1024;
/** Upserts in one `desired` message stop growing past this many manifest bytes. */
export const DESIRED_PART_BYTES = 512 * 1024;

/** Agent → gateway: what the agent has; answered by one or more `desired` messages. */
export interface Pull {
  type: 'pull';
  pull_id: number;
  /** The set hash the agent holds, or null when it holds none. */
  revision_hash: string | null;
  /** Short hashes of the resources it holds (any order). */
  hashes: string[];
}

export interface DesiredUpsert {
  key: string;
  hash: string;
  mode: 'enforced' | 'create-once';
  position: number;
  manifest: Record<string, unknown>;
}

/** Gateway → agent: one part of the answer to a pull. */
export interface Desired {
  type: 'desired';
  pull_id: number;
  revision: number;
  revision_hash: string | null;
  /** True when the agent's set already is the newest: nothing else follows. */
  not_modified: boolean;
  upserts: DesiredUpsert[];
  /** Short hashes the agent holds that are no longer in the set. */
  removed: string[];
  final: boolean;
}

/** Gateway → agent: the desired set changed; pull unless you hold this revision already. */
export interface Nudge {
  type: 'nudge';
  revision: number;
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A reason when the message is not a valid pull. */
export function checkPull(message: Record<string, unknown>): string | undefined {
  const m = message as Partial<Pull>;
  if (!Number.isSafeInteger(m.pull_id)) return 'pull_id must be an integer';
  if (m.revision_hash !== null && !(typeof m.revision_hash === 'string' && HEX64.test(m.revision_hash)))
    return 'revision_hash must be a sha256 or null';
  if (!Array.isArray(m.hashes) || m.hashes.length > RESOURCE_LIMITS.maxResources * 2)
    return `hashes must be an array of at most ${RESOURCE_LIMITS.maxResources * 2}`;
  if (!m.hashes.every((hash) => typeof hash === 'string' && HEX16.test(hash)))
    return 'hashes must be 16 hex digits each';
  return undefined;
}

/** A reason when the message is not a valid `desired` part. */
export function checkDesired(message: Record<string, unknown>): string | undefined {
  const m = message as Partial<Desired>;
  if (!Number.isSafeInteger(m.pull_id) || !Number.isSafeInteger(m.revision)) return 'bad pull_id or revision';
  if (m.revision_hash !== null && !(typeof m.revision_hash === 'string' && HEX64.test(m.revision_hash)))
    return 'bad revision_hash';
  if (typeof m.not_modified !== 'boolean' || typeof m.final !== 'boolean') return 'bad flags';
  if (!Array.isArray(m.removed) || !m.removed.every((hash) => typeof hash === 'string' && HEX16.test(hash)))
    return 'bad removed list';
  if (!Array.isArray(m.upserts)) return 'bad upserts';
  for (const upsert of m.upserts as unknown[]) {
    if (!isObject(upsert)) return 'bad upsert';
    const u = upsert as Partial<DesiredUpsert>;
    if (typeof u.key !== 'string' || typeof u.hash !== 'string' || !HEX64.test(u.hash))
      return 'bad upsert key';
    if (u.mode !== 'enforced' && u.mode !== 'create-once') return 'bad upsert mode';
    if (!Number.isSafeInteger(u.position) || !isObject(u.manifest)) return 'bad upsert manifest';
  }
  return undefined;
}

export function checkNudge(message: Record<string, unknown>): string | undefined {
  return Number.isSafeInteger((message as Partial<Nudge>).revision) ? undefined : 'bad revision';
}

export const REPORT_STATES = ['applied', 'failed', 'pruned', 'pending', 'drifted'] as const;
/** Resources per report part; each message at most 1,000 characters. */
export const REPORT_PART_RESOURCES = 500;

/** Agent → gateway, through the outbox: status changes (or all statuses, `full`). */
export interface Report {
  type: 'report';
  seq: number;
  full: boolean;
  /** The desired revision the agent holds. */
  revision: number;
  /** Why the last pass could not sync at all (another owner, the API unreachable), or null. */
  problem: string | null;
  interval_ms: number;
  resources: Array<{
    key: string;
    status: (typeof REPORT_STATES)[number];
    message: string | null;
    applied_revision: number | null;
  }>;
}

/** Gateway → agent: every outbox entry up to `seq` is stored. */
export interface Ack {
  type: 'ack';
  seq: number;
}

export function checkReport(message: Record<string, unknown>): string | undefined {
  const m = message as Partial<Report>;
  if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 1) return 'seq must be a positive integer';
  if (typeof m.full !== 'boolean' || !Number.isSafeInteger(m.revision)) return 'bad full or revision';
  if (m.problem !== null && (typeof m.problem !== 'string' || m.problem.length > 2000)) return 'bad problem';
  if (!Number.isSafeInteger(m.interval_ms) || (m.interval_ms as number) < 1000) return 'bad interval_ms';
  if (!Array.isArray(m.resources) || m.resources.length > REPORT_PART_RESOURCES) return 'bad resources';
  for (const resource of m.resources as unknown[]) {
    if (!isObject(resource)) return 'bad resource';
    const r = resource as Partial<Report['resources'][number]>;
    if (typeof r.key !== 'string' || r.key.length > 1000) return 'bad resource key';
    if (!REPORT_STATES.includes(r.status as never)) return 'bad resource status';
    if (r.message !== null && (typeof r.message !== 'string' || r.message.length > 1000))
      return 'bad resource message';
    if (r.applied_revision !== null && !Number.isSafeInteger(r.applied_revision))
      return 'bad applied_revision';
  }
  return undefined;
}

export function checkAck(message: Record<string, unknown>): string | undefined {
  return Number.isSafeInteger((message as Partial<Ack>).seq) ? undefined : 'bad seq';
}

/** One telemetry sample, as the API shows it too. */
export interface TelemetrySample {
  time: string;
  cpus: number;
  memory_bytes: number;
  nodes: number;
  storage_bytes: number;
  kubernetes_version: string;
  platform_version: string;
  components: Array<{ name: string; ready: boolean }>;
}

/** Agent → gateway, through the outbox. */
export interface Telemetry {
  type: 'telemetry';
  seq: number;
  sample: TelemetrySample;
}

const MAX_COMPONENTS = 1000;

export function checkTelemetry(message: Record<string, unknown>): string | undefined {
  const m = message as Partial<Telemetry>;
  if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 1) return 'seq must be a positive integer';
  if (!isObject(m.sample)) return 'sample must be an object';
  const s = m.sample as Partial<TelemetrySample>;
  if (typeof s.time !== 'string' || Number.isNaN(Date.parse(s.time)))
    return 'sample.time must be a timestamp';
  for (const field of ['cpus', 'memory_bytes', 'nodes', 'storage_bytes'] as const) {
    const value = s[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      return `sample.${field} must be a number`;
  }
  for (const field of ['kubernetes_version', 'platform_version'] as const) {
    const value = s[field];
    if (typeof value !== 'string' || value.length > 200) return `sample.${field} must be a short string`;
  }
  if (!Array.isArray(s.components) || s.components.length > MAX_COMPONENTS) return 'bad sample.components';
  for (const component of s.components as unknown[]) {
    const c = component as Partial<TelemetrySample['components'][number]>;
    if (
      !isObject(component) ||
      typeof c.name !== 'string' ||
      c.name.length > 300 ||
      typeof c.ready !== 'boolean'
    )
      return 'bad component';
  }
  return undefined;
}
