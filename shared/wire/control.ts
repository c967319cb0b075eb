// Messages on the control stream after the handshake (docs/protocol.md): desired-state pulls and
// their answers, nudges, the agent's reports and telemetry, and acknowledgements. One schema per
// message; every message from the other side is checked against it before anything acts on it.
import { type Static, Type } from '@sinclair/typebox';
import { RESOURCE_LIMITS } from '../manifests.js';
import { compile, Hex16, Hex64, Int32, SafeInteger, Text } from './schema.js';

/** An outbox entry's sequence number: numbered from 1 by the agent, stored as a bigint. */
const Seq = () => SafeInteger(1);
/** The `key` of a resource: apiVersion/kind/namespace/name. */
const ResourceKey = () => Text(1000, 1);

/** Agent → gateway, once, first on the stream. */
export const Status = Type.Object({
  type: Type.Literal('status'),
  agent_version: Text(64),
  /** The agent's --allow entries as written. */
  allow: Type.Array(Text(300), { maxItems: 1000 }),
});
export type Status = Static<typeof Status>;

/** Agent → gateway, every heartbeat interval (liveness is the mux's pings; this is a sign of life). */
export const Heartbeat = Type.Object({ type: Type.Literal('heartbeat'), time: Text(64) });
export type Heartbeat = Static<typeof Heartbeat>;

/** Agent → gateway: what the agent has; answered by one or more `desired` messages. */
export const Pull = Type.Object({
  type: Type.Literal('pull'),
  pull_id: SafeInteger(),
  /** The set hash the agent holds, or null when it holds none. */
  revision_hash: Type.Union([Hex64(), Type.Null()]),
  /** Short hashes of the resources it holds (any order). */
  hashes: Type.Array(Hex16(), { maxItems: RESOURCE_LIMITS.maxResources * 2 }),
});
export type Pull = Static<typeof Pull>;

export const DesiredUpsert = Type.Object({
  key: ResourceKey(),
  hash: Hex64(),
  mode: Type.Union([Type.Literal('enforced'), Type.Literal('create-once')]),
  position: Int32(),
  /** Checked against `hash` by the agent. */
  manifest: Type.Record(Type.String(), Type.Unknown()),
});
export type DesiredUpsert = Static<typeof DesiredUpsert>;

/** Gateway → agent: one part of the answer to a pull. */
export const Desired = Type.Object({
  type: Type.Literal('desired'),
  pull_id: SafeInteger(),
  revision: Int32(),
  revision_hash: Type.Union([Hex64(), Type.Null()]),
  /** True when the agent's set already is the newest: nothing else follows. */
  not_modified: Type.Boolean(),
  upserts: Type.Array(DesiredUpsert, { maxItems: RESOURCE_LIMITS.maxResources }),
  /** Short hashes the agent holds that are no longer in the set. */
  removed: Type.Array(Hex16(), { maxItems: RESOURCE_LIMITS.maxResources * 2 }),
  final: Type.Boolean(),
});
export type Desired = Static<typeof Desired>;

/** Gateway → agent: the desired set changed; pull unless you hold this revision already. */
export const Nudge = Type.Object({ type: Type.Literal('nudge'), revision: Int32() });
export type Nudge = Static<typeof Nudge>;

export const REPORT_STATES = ['applied', 'failed', 'pruned', 'pending', 'drifted'] as const;
/** Resources per report part. */
export const REPORT_PART_RESOURCES = 500;

/** Agent → gateway, through the outbox: status changes (or all statuses, `full`). */
export const Report = Type.Object({
  type: Type.Literal('report'),
  seq: Seq(),
  full: Type.Boolean(),
  /** The desired revision the agent holds. */
  revision: Int32(),
  /** Why the last pass could not sync at all (another owner, the API unreachable), or null. */
  problem: Type.Union([Text(2000), Type.Null()]),
  interval_ms: Int32(1000),
  resources: Type.Array(
    Type.Object({
      key: ResourceKey(),
      status: Type.Union(REPORT_STATES.map((state) => Type.Literal(state))),
      message: Type.Union([Text(1000), Type.Null()]),
      applied_revision: Type.Union([Int32(), Type.Null()]),
    }),
    { maxItems: REPORT_PART_RESOURCES },
  ),
});
export type Report = Static<typeof Report>;

/**
 * One telemetry sample, as the API shows it too. The bounds are the columns'
 * (shared/db/migrations/0007_telemetry.sql): bigints within what JSON numbers hold exactly, an
 * `integer` node count, text without NUL; capacity beyond any real cluster is refused too.
 */
export const TelemetrySample = Type.Object({
  /** RFC 3339 with a time zone. */
  time: Type.String({ format: 'date-time', maxLength: 64 }),
  /** Cores (millicores as a fraction); a sanity bound, the column is double precision. */
  cpus: Type.Number({ minimum: 0, maximum: 1e9 }),
  memory_bytes: SafeInteger(),
  nodes: Int32(),
  storage_bytes: SafeInteger(0, 'the capacity of all persistent volumes'),
  kubernetes_version: Text(200),
  platform_version: Text(200),
  // A name is namespace/kind/name: up to 63 + 11 + 253 characters and two slashes.
  components: Type.Array(Type.Object({ name: Text(512), ready: Type.Boolean() }), { maxItems: 1000 }),
});
export type TelemetrySample = Static<typeof TelemetrySample>;

/** Agent → gateway, through the outbox. */
export const Telemetry = Type.Object({
  type: Type.Literal('telemetry'),
  seq: Seq(),
  sample: TelemetrySample,
});
export type Telemetry = Static<typeof Telemetry>;

/**
 * What every outbox entry has, whatever its body: enough to acknowledge an entry whose body can
 * never be stored, so the agent stops replaying it.
 */
export const OutboxEnvelope = Type.Object({
  type: Type.Union([Type.Literal('report'), Type.Literal('telemetry')]),
  seq: Seq(),
});
export type OutboxEnvelope = Static<typeof OutboxEnvelope>;

/** Gateway → agent: the outbox entry `seq` is stored (or refused for good); drop it. */
export const Ack = Type.Object({ type: Type.Literal('ack'), seq: Seq() });
export type Ack = Static<typeof Ack>;

/**
 * Gateway → agent, just before the mux GoAway: this replica is draining. Connect again (through
 * the load balancer, to another replica) after a random delay of up to `reconnect_within_ms`,
 * keeping this session until its tunnels end; the gateway closes it then.
 */
export const Move = Type.Object({
  type: Type.Literal('move'),
  reason: Text(200),
  reconnect_within_ms: Type.Integer({ minimum: 0, maximum: 60_000 }),
});
export type Move = Static<typeof Move>;

export const isStatus = compile(Status);
export const isHeartbeat = compile(Heartbeat);
export const isPull = compile(Pull);
export const isDesired = compile(Desired);
export const isNudge = compile(Nudge);
export const isReport = compile(Report);
export const isTelemetry = compile(Telemetry);
export const isTelemetrySample = compile(TelemetrySample);
export const isOutboxEnvelope = compile(OutboxEnvelope);
export const isAck = compile(Ack);
export const isMove = compile(Move);
