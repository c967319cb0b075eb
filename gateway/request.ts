// What a route knows of its request beyond fastify's own: the caller (set by auth before any
// handler runs), the least role the route needs, and the audit actor made of both.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../shared/audit.js';
import type { GlobalRole, Role } from '../shared/roles.js';
import type { Caller, GlobalPrincipal, Principal } from './auth.js';
import type { Invalidations } from './cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What this process just changed, so its caches forget it before the notification arrives. */
    invalidations: Invalidations;
  }
  interface FastifyRequest {
    /** Whoever called, global or not. */
    caller: Caller;
    /** The caller of a workspace route: routes that take only workspace roles read this. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /**
     * The least workspace role that may call the route, the least global role, or both; a route
     * with neither is refused (deny by default; auth.ts decides).
     */
    role?: Role;
    globalRole?: GlobalRole;
  }
}

/** Routes whose request types come from their TypeBox schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

/** The audit actor for a request: the caller, its address and the request id. */
export function actorOf(request: Pick<FastifyRequest, 'caller' | 'ip' | 'id'>): Actor {
  const { caller } = request;
  return {
    userType: caller.userType,
    userName: caller.userName,
    remoteAddress: request.ip,
    requestUuid: String(request.id),
    workspaceId: caller.scope === 'workspace' ? caller.workspaceId : null,
    workspaceSlug: caller.scope === 'workspace' ? caller.workspaceSlug : null,
  };
}

/** The caller of a route that takes only global roles. */
export function globalCallerOf(request: Pick<FastifyRequest, 'caller'>): GlobalPrincipal {
  if (request.caller.scope !== 'global') throw new Error('a global route reached by a workspace caller');
  return request.caller;
}
