// Session settings with documented defaults, validated once.
import { INITIAL_WINDOW } from './frame.js';

export interface MuxConfig {
  /** How many streams we opened may wait for the peer's ACK at once; more are refused. */
  acceptBacklog: number;
  /** Most streams open at once; a SYN beyond it is answered with RST. */
  maxStreams: number;
  /**
   * Largest receive window of streams the peer opens (bytes; at least the spec's 256 KiB). A
   * window starts at 256 KiB and grows towards this as the application reads.
   */
  streamWindow: number;
  /** The largest window any stream may ask for (bounds memory per paused stream). */
  maxStreamWindow: number;
  /**
   * Bytes all streams together may hold beyond their first 256 KiB each (credit granted and data
   * not yet read): what a window grows by comes from here, so many busy streams share it.
   */
  sessionWindow: number;
  /** Most payload bytes in one data frame we send: smaller frames interleave streams more finely. */
  maxFrameSize: number;
  /** Ping the peer this often (ms); 0 disables keepalive. */
  keepaliveInterval: number;
  /** A ping unanswered this long (ms) closes the session as dead. */
  keepaliveTimeout: number;
  /**
   * For a side that leaves pinging to its peer: no ping from the peer for this long (ms) closes
   * the session as dead; 0 disables. Waiting costs nothing while pings arrive (no timer fires).
   */
  peerPingTimeout: number;
}

export const defaultConfig: MuxConfig = {
  acceptBacklog: 256,
  maxStreams: 4096,
  streamWindow: INITIAL_WINDOW,
  maxStreamWindow: 16 * 1024 * 1024,
  sessionWindow: 8 * 1024 * 1024,
  maxFrameSize: 64 * 1024,
  keepaliveInterval: 10_000,
  keepaliveTimeout: 10_000,
  peerPingTimeout: 0,
};

export function resolveConfig(overrides: Partial<MuxConfig> = {}): MuxConfig {
  const config = { ...defaultConfig, ...overrides };
  const positive = (name: keyof MuxConfig) => {
    if (!Number.isInteger(config[name]) || config[name] < 0)
      throw new RangeError(`mux ${name} must be a non-negative integer`);
  };
  for (const name of Object.keys(defaultConfig) as (keyof MuxConfig)[]) positive(name);
  if (config.streamWindow < INITIAL_WINDOW || config.streamWindow > config.maxStreamWindow) {
    throw new RangeError(`mux streamWindow must be from ${INITIAL_WINDOW} to maxStreamWindow`);
  }
  if (config.maxFrameSize < 1024) throw new RangeError('mux maxFrameSize must be at least 1024');
  if (config.keepaliveInterval > 0 && config.keepaliveTimeout < 1) {
    throw new RangeError('mux keepaliveTimeout must be positive when keepalive is on');
  }
  return config;
}
