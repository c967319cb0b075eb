// The wire's sizes and timeouts, each named once; docs/protocol.md ("Limits") lists them all.
// The multiplexer's own defaults (backlog, streams, frame size, session budget) are in
// mux/config.ts; this module says how the programs set it up.

const KiB = 1024;
const MiB = 1024 * KiB;

/** Largest WebSocket message any Commander peer accepts (`ws` maxPayload); deflate is off. */
export const MAX_WS_MESSAGE = 1 * MiB;

/** One handshake message (challenge, hello, welcome, error). */
export const MAX_HANDSHAKE_MESSAGE = 16 * KiB;
/**
 * How long the gateway waits for the hello after its challenge. The agent answers at once, so
 * this only bounds how long a connection that proved nothing may sit in a handshake slot.
 */
export const HELLO_TIMEOUT_MS = 5_000;
/** The agent's wait for the HTTP upgrade, and then from the challenge to the welcome. */
export const AGENT_UPGRADE_TIMEOUT_MS = 15_000;
export const AGENT_HANDSHAKE_TIMEOUT_MS = 15_000;
/** Keepalive interval the agent may ask for; the gateway clamps the hello's value to it. */
export const HEARTBEAT_MS = { min: 200, max: 60_000, default: 10_000 } as const;

/** Control messages the agent sends (pulls, reports in bounded parts, telemetry). */
export const MAX_AGENT_MESSAGE = 1 * MiB;
/** Control messages the gateway sends: a `desired` part may carry one manifest of up to 2 MiB. */
export const MAX_GATEWAY_MESSAGE = 4 * MiB;
/** Upserts in one `desired` message stop growing past this many manifest bytes. */
export const DESIRED_PART_BYTES = 512 * KiB;
/**
 * Pulls and outbox entries of one agent the gateway is working on at once. Beyond it the gateway
 * stops reading the control stream, so its window holds the agent back (a replayed outbox of
 * 20,000 entries waits in the agent, not in the gateway's memory).
 */
export const CONTROL_BACKLOG = 256;

/** A tunnel's dial request and its answer, each; and how long either side waits for one. */
export const MAX_DIAL_MESSAGE = 16 * KiB;
export const DIAL_WAIT_MS = 30_000;
/** The tunnel client waits a little longer than the gateway waits for the agent. */
export const CLIENT_ANSWER_WAIT_MS = 35_000;

/**
 * Largest receive window of a tunnel stream, per side. Everything the gateway sends an agent
 * shares one connection, so the agent's window is also how far a heartbeat or an interactive
 * tunnel's bytes may queue behind a bulk one: measured against 4 MiB (tunnel-hol), heartbeat p99
 * 11.6-13.5 ms against 16-23.5 ms, and no difference in one-stream throughput.
 */
export const TUNNEL_WINDOW = { gateway: 4 * MiB, agent: 2 * MiB, client: 4 * MiB } as const;
/** Tunnels one multiplexed client may hold open (each may park its window at the gateway). */
export const CLIENT_MAX_STREAMS = 256;
/** A tunnel WebSocket stops reading its source above this many unsent bytes, resumes below. */
export const TUNNEL_HIGH_WATER = 4 * MiB;
export const TUNNEL_LOW_WATER = 1 * MiB;
/** Bytes per message the tunnel client sends (below MAX_WS_MESSAGE). */
export const TUNNEL_CLIENT_CHUNK = 512 * KiB;

/** Admission at the agent endpoint (per replica; docs/protocol.md, "Admission"). */
export const AGENT_ADMISSION = {
  /**
   * Connections upgraded but with no hello yet. They have proven nothing and cost little, so
   * they do not count against `maxVerifying`; when this many wait, the oldest is dropped for
   * the newest (a real agent answers within a round trip, long before it is the oldest).
   */
  maxAwaitingHello: 1024,
  /** Hellos whose signature verified, in their database transaction; more → 503. */
  maxVerifying: 512,
  /** Agent sessions; more → 503. */
  maxSessions: 20_000,
  /** Retry-After of a 503: from `min` to `min + spread - 1` seconds, at random. */
  retryAfterS: { min: 5, spread: 25 },
  /** Retry-After while the gateway drains. */
  drainingRetryAfterS: 5,
} as const;
/** A refused or dropped agent WebSocket is terminated this long after its close frame. */
export const DROP_TERMINATE_MS = 1_000;
/** How often the gateway refreshes `last_seen_at` of its live sessions. */
export const LAST_SEEN_EVERY_MS = 30_000;
