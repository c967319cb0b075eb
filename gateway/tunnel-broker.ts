// Opens tunnel streams to agents: the dial request, the agent's typed answer, and the
// tunnel metrics. A dial for an agent held by another replica is forwarded in a later step.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MuxStream } from '../shared/mux/stream.js';
import { formatTarget, type Target } from '../shared/targets.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import type { AgentEndpoint } from './agent-endpoint.js';

export type TunnelErrorCode = 'target_not_allowed' | 'dial_failed' | 'dial_timeout' | 'agent_offline';

export class TunnelError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

const TUNNEL_ERROR_CODES = new Set<string>([
  'target_not_allowed',
  'dial_failed',
  'dial_timeout',
  'agent_offline',
]);
/** Receive window of a tunnel stream at the gateway: large enough to fill a fast link. */
export const TUNNEL_WINDOW = 4 * 1024 * 1024;
const ANSWER_TIMEOUT_MS = 30_000;

export interface OpenTunnel {
  stream: MuxStream;
  /** Bytes the agent sent right after its answer (the target may speak first). */
  rest: Buffer;
}

export class TunnelBroker {
  readonly opened: Counter<'result'>;
  readonly active: Gauge;
  readonly bytes: Counter<'direction'>;

  constructor(
    private readonly agents: AgentEndpoint,
    metrics: Registry,
  ) {
    this.opened = new Counter({
      name: 'commander_tunnels_total',
      help: 'Tunnels asked for, by result (ok or the error code)',
      labelNames: ['result'],
      registers: [metrics],
    });
    this.active = new Gauge({
      name: 'commander_tunnels_active',
      help: 'Tunnels open now',
      registers: [metrics],
    });
    this.bytes = new Counter({
      name: 'commander_tunnel_bytes_total',
      help: 'Bytes carried by tunnels: to_target (client to target) and from_target',
      labelNames: ['direction'],
      registers: [metrics],
    });
  }

  async dial(clusterId: string, target: Target): Promise<OpenTunnel> {
    try {
      const opened = await this.open(clusterId, target);
      this.opened.inc({ result: 'ok' });
      return opened;
    } catch (error) {
      this.opened.inc({ result: error instanceof TunnelError ? error.code : 'error' });
      throw error;
    }
  }

  private async open(clusterId: string, target: Target): Promise<OpenTunnel> {
    const agent = this.agents.session(clusterId);
    if (!agent) throw new TunnelError('agent_offline', 'the cluster has no agent connected');
    let stream: MuxStream;
    try {
      stream = agent.session.open({ window: TUNNEL_WINDOW });
    } catch (error) {
      throw new TunnelError(
        'agent_offline',
        `the agent's session cannot open streams: ${(error as Error).message}`,
      );
    }
    stream.write(encodeMessage({ type: 'dial', target: formatTarget(target) }));
    try {
      const { message, rest } = await readFirstMessage(stream, 16 * 1024, ANSWER_TIMEOUT_MS);
      if (message.ok === true) return { stream, rest };
      const code = String(message.code);
      stream.destroy();
      throw new TunnelError(
        TUNNEL_ERROR_CODES.has(code) ? (code as TunnelErrorCode) : 'dial_failed',
        typeof message.message === 'string' ? message.message : 'the agent refused the tunnel',
      );
    } catch (error) {
      stream.destroy();
      if (error instanceof TunnelError) throw error;
      throw new TunnelError('agent_offline', `the agent did not answer: ${(error as Error).message}`);
    }
  }
}
