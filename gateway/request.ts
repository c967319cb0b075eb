// What a route knows of its request beyond fastify's own: the caller (set by auth before any
// handler runs), the least role the route needs, and the audit actor made of both.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../shared/audit.js';
import type { Role } from '../shared/tokens.js';
import type { Principal } from './auth.js';
import type { Invalidations } from './cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What this process just changed, so its caches forget it before the notification arrives. */
    invalidations: Invalidations;
  }
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The least role that may call the route; a route without one is refused (deny by default). */
    role?: Role;
  }
}

/** Routes whose request types come from their TypeBox schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

/** The audit actor for a request: the caller, its address and the request id. */
export function actorOf(request: Pick<FastifyRequest, 'principal' | 'ip' | 'id'>): Actor {
  return {
    userType: request.principal.userType,
    userName: request.principal.userName,
    remoteAddress: request.ip,
    requestUuid: String(request.id),
    workspaceId: request.principal.workspaceId,
    workspaceSlug: request.principal.workspaceSlug,
  };
}
