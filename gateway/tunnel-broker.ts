// Opens tunnel streams to agents: the dial request, the agent's typed answer, and the
// tunnel metrics. A dial for an agent held by another replica is forwarded in a later step.
import { Counter, Gauge, type Registry } from 'prom-client';
import { isWireCode, type WireCodeOf } from '../shared/errors.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { formatTarget, type Target } from '../shared/targets.js';
import { TUNNEL_WINDOW } from '../shared/wire/limits.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { type DialRequest, isDialAnswer } from '../shared/wire/tunnel.js';
import type { AgentEndpoint } from './agent-endpoint.js';

export type TunnelErrorCode = WireCodeOf<'tunnel'>;

export class TunnelError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

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
      stream = agent.session.open({ window: TUNNEL_WINDOW.gateway });
    } catch (error) {
      throw new TunnelError(
        'agent_offline',
        `the agent's session cannot open streams: ${(error as Error).message}`,
      );
    }
    const dial: DialRequest = { type: 'dial', target: formatTarget(target) };
    stream.write(encodeMessage(dial));
    try {
      const { message, rest } = await readFirstMessage(stream);
      if (!isDialAnswer(message)) {
        throw new TunnelError(
          'dial_failed',
          `the agent's answer is malformed: ${isDialAnswer.problem(message)}`,
        );
      }
      if (message.ok) return { stream, rest };
      // A code this gateway does not know (a newer agent's) is still a failed dial.
      throw new TunnelError(isWireCode('dial', message.code) ? message.code : 'dial_failed', message.message);
    } catch (error) {
      stream.destroy();
      if (error instanceof TunnelError) throw error;
      throw new TunnelError('agent_offline', `the agent did not answer: ${(error as Error).message}`);
    }
  }
}
