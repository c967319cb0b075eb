// GET /events: the workspace's live changes as server-sent events, for the web application.
// The token comes in X-Auth-Token like every call (browsers read the stream with fetch(), never
// with a token in the URL); a stream ends when its token is revoked or the gateway stops.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CommanderError } from '../../shared/errors.js';
import type { Authenticator } from '../auth.js';
import { EVENT_LIMITS, type LiveEvent, type LiveEvents } from '../events.js';
import { typed } from '../request.js';
import { responses } from './schemas.js';

export function eventRoutes(app: FastifyInstance, live: LiveEvents, authenticate: Authenticator): void {
  const api = typed(app);
  const open = new Set<() => void>();
  // Open streams would keep the server from closing: they end first.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  api.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['events'],
        description:
          'Server-sent events (text/event-stream) of the workspace: each `data:` line is JSON ' +
          '{type: cluster|task|change_request|record|reconnected, id, cluster_id}. Only ids travel: read the ' +
          'object through the API. `reconnected` means events may have been missed: read everything afresh.',
        // Nothing travels in the URL (a token there would land in logs and histories).
        querystring: Type.Object({}, { additionalProperties: false }),
        response: responses({}),
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const send = (event: LiveEvent) => {
        reply.raw.write(`data: ${JSON.stringify(event)}\n\n`);
      };
      const unsubscribe = live.subscribe(workspaceId, send);
      if (!unsubscribe)
        throw new CommanderError('BUSY', 'this gateway holds as many event streams as it may');
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // Proxies that buffer (nginx) would hold the events back.
        'x-accel-buffering': 'no',
      });
      reply.raw.write(': connected\n\n');
      const heartbeat = setInterval(() => reply.raw.write(': heartbeat\n\n'), EVENT_LIMITS.heartbeatMs);
      // A revoked token's stream ends at once: the caches forget the token, and it is checked again.
      const recheck = (change: { table: string } | undefined) => {
        if (change && change.table !== 'api_tokens' && change.table !== 'workspaces') return;
        authenticate(request).then(
          (caller) => {
            if (caller.scope !== 'workspace' || caller.workspaceId !== workspaceId) end();
          },
          () => end(),
        );
      };
      app.invalidations.subscribe(recheck);
      const end = () => {
        if (!open.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        app.invalidations.unsubscribe(recheck);
        reply.raw.end();
      };
      open.add(end);
      reply.raw.on('close', end);
    },
  );
}
