// Telemetry the cluster's agent sent: the newest sample, and the history between two times.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CommanderError } from '../../shared/errors.js';
import { TelemetrySample } from '../../shared/wire/control.js';
import type { GatewayDeps } from '../deps.js';
import { typed } from '../request.js';
import { idParams, responses, timestamp } from './schemas.js';

const MAX_HISTORY = 10_000;

/** The sample as the agent sent it: the wire's one schema for it. */
const sampleSchema = TelemetrySample;

interface SampleRow {
  time: Date;
  cpus: number;
  memory_bytes: string;
  nodes: number;
  storage_bytes: string;
  kubernetes_version: string;
  platform_version: string;
  components: Array<{ name: string; ready: boolean }>;
}

function sampleJson(row: SampleRow) {
  return { ...row, memory_bytes: Number(row.memory_bytes), storage_bytes: Number(row.storage_bytes) };
}

export function telemetryRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const api = typed(app);
  const { sql } = deps;

  const cluster = async (workspaceId: string, id: string) => {
    const [row] = await sql<{ telemetry: Record<string, unknown> | null }[]>`
      select telemetry from clusters where id = ${id} and workspace_id = ${workspaceId}`;
    if (!row) throw new CommanderError('NOT_FOUND', `cluster ${id} not found`);
    return row;
  };

  api.get(
    '/clusters/:id/telemetry',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['telemetry'],
        description: 'The newest sample; 404 until the agent sent one.',
        params: idParams,
        response: responses({ 200: sampleSchema }),
      },
    },
    async (request) => {
      const { telemetry } = await cluster(request.principal.workspaceId, request.params.id);
      if (!telemetry) throw new CommanderError('NOT_FOUND', 'the agent has sent no telemetry yet');
      return telemetry;
    },
  );

  api.get(
    '/clusters/:id/telemetry/history',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['telemetry'],
        description: `Samples from \`from\` to \`to\` (inclusive), oldest first; at most \`limit\` (${MAX_HISTORY}), the oldest ones.`,
        params: idParams,
        querystring: Type.Object(
          {
            from: Type.Optional(timestamp),
            to: Type.Optional(timestamp),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY, default: MAX_HISTORY })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: { type: 'array', items: sampleSchema } }),
      },
    },
    async (request) => {
      await cluster(request.principal.workspaceId, request.params.id);
      const { from, to, limit } = request.query;
      // Dates, not strings: the format already checked that Date reads them.
      const rows = await sql<SampleRow[]>`
        select time, cpus, memory_bytes, nodes, storage_bytes, kubernetes_version, platform_version, components
        from telemetry_samples where cluster_id = ${request.params.id}
          and time >= coalesce(${from ? new Date(from) : null}::timestamptz, '-infinity')
          and time <= coalesce(${to ? new Date(to) : null}::timestamptz, 'infinity')
        order by time limit ${limit ?? MAX_HISTORY}`;
      return rows.map(sampleJson);
    },
  );
}
