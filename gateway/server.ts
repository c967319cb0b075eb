// Builds the gateway's HTTP server: validation, errors, auth, OpenAPI and every route.
import { randomUUID } from 'node:crypto';
import swagger, { type SwaggerTransformObject } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isDatabaseUnavailable } from '../shared/db/health.js';
import { CommanderError, type ErrorCode, errorBody, errorCatalogue } from '../shared/errors.js';
import { signingKeyLoader } from '../shared/signing-key.js';
import { agentRoutes } from './api/agents.js';
import { auditRoutes } from './api/audit.js';
import { authMethodRoutes } from './api/auth-methods.js';
import { catalogRoutes } from './api/catalogs.js';
import { clusterChangeRequestRoutes } from './api/cluster-change-requests.js';
import { clusterTemplateRoutes } from './api/cluster-templates.js';
import { clusterRoutes } from './api/clusters.js';
import { eventRoutes } from './api/events.js';
import { globalRoleRoutes } from './api/global-roles.js';
import { healthRoutes } from './api/health.js';
import { recordRoutes } from './api/records.js';
import { registryRoutes } from './api/registries.js';
import { resourceRoutes } from './api/resources.js';
import { FORMATS } from './api/schemas.js';
import { taskRoutes } from './api/tasks.js';
import { telemetryRoutes } from './api/telemetry.js';
import { tokenRoutes } from './api/tokens.js';
import { tunnelHistoryRoutes } from './api/tunnel-history.js';
import { workspaceRoleBindingRoutes } from './api/workspace-role-bindings.js';
import { workspaceRoutes } from './api/workspaces.js';
import { authorize, createAuthenticator } from './auth.js';
import { Invalidations } from './cache.js';
import type { GatewayDeps } from './deps.js';
import { LiveEvents } from './events.js';
import { useCheckedInput } from './input.js';
import { instrumentRequests } from './metrics.js';
import { attachWebSockets } from './upgrade.js';
import { webRoot, webRoutes } from './web.js';

export const BODY_LIMIT = 1024 * 1024;
// fastify's default for path parameters (ids here), stated so the message can name it.
const MAX_PARAM_LENGTH = 100;

export async function buildServer(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    trustProxy: deps.trustProxy ?? false,
    frameworkErrors: handleRouterError,
  });
  useStrictValidation(app);
  useCheckedInput(app);
  // The API speaks JSON; a plain-text body is a client mistake, answered 415 rather than parsed.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(handleError);
  // The web application answers for paths that are not the API's (it routes in the browser).
  const webFallback = webRoutes(app, webRoot(), deps.oidc?.issuer);
  app.setNotFoundHandler((request, reply) => {
    if (webFallback?.(request, reply)) return;
    reply
      .status(404)
      .send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  instrumentRequests(app, deps.metrics);
  // While draining, answers tell keep-alive clients to reconnect elsewhere.
  app.addHook('onSend', async (_request, reply) => {
    if (deps.isDraining()) reply.header('connection', 'close');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Commander API', version: '1' },
      components: {
        securitySchemes: {
          token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ token: [] }, { bearer: [] }],
    },
    transformObject: markOptionalBodies,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const invalidations = new Invalidations();
  await invalidations.start(deps.sql);
  app.decorate('invalidations', invalidations);
  app.addHook('onClose', () => invalidations.stop());
  const live = new LiveEvents();
  await live.start(deps.sql);
  app.addHook('onClose', () => live.stop());
  const authenticate = createAuthenticator(deps.sql, invalidations, deps.oidc);
  const signingKey = signingKeyLoader(deps.sql, deps.encryptor);
  await attachWebSockets(app, deps, authenticate);
  const authorizeRequest = async (request: FastifyRequest) => {
    const caller = await authenticate(request);
    authorize(caller, request.routeOptions.config);
    request.caller = caller;
    if (caller.scope === 'workspace') request.principal = caller;
  };
  app.decorateRequest('caller');
  app.decorateRequest('principal');
  healthRoutes(app, deps, authorizeRequest);
  // Outside the authenticated routes, like health: a browser asks it before signing in.
  authMethodRoutes(app, deps.oidc);
  await app.register(
    async (api) => {
      api.addHook('onRequest', authorizeRequest);
      clusterRoutes(api, deps);
      clusterTemplateRoutes(api, deps);
      agentRoutes(api, deps, signingKey);
      tokenRoutes(api, deps);
      taskRoutes(api, deps);
      resourceRoutes(api, deps);
      telemetryRoutes(api, deps);
      auditRoutes(api, deps);
      tunnelHistoryRoutes(api, deps);
      clusterChangeRequestRoutes(api, deps);
      registryRoutes(api, deps);
      catalogRoutes(api, deps);
      recordRoutes(api, deps);
      workspaceRoutes(api, deps);
      globalRoleRoutes(api);
      workspaceRoleBindingRoutes(api, deps);
      eventRoutes(api, live, authenticate);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

interface DocumentedBody {
  required?: boolean;
  content?: Record<string, { schema?: { required?: unknown[]; minProperties?: number } }>;
}

/** A body whose schema asks for nothing may be left out (input.ts), which swagger cannot tell. */
const markOptionalBodies: SwaggerTransformObject = (document) => {
  const spec = 'openapiObject' in document ? document.openapiObject : document.swaggerObject;
  for (const operations of Object.values(spec.paths ?? {})) {
    for (const operation of Object.values(operations ?? {})) {
      const body = (operation as { requestBody?: DocumentedBody }).requestBody;
      const schema = body?.content?.['application/json']?.schema;
      if (body && schema && !schema.required?.length && !schema.minProperties) body.required = false;
    }
  }
  return spec;
};

/**
 * Bodies are never coerced or trimmed: an unknown field or a wrong type is a 400, not a guess.
 * Numbers must be finite; strings in a format are read by that format's one parser. Validation
 * stops at the first issue: collecting all of them took 350 ms for a 1 MiB array of wrong items.
 */
function useStrictValidation(app: FastifyInstance) {
  const base: AjvOptions = { allErrors: false, useDefaults: true, strict: false, strictNumbers: true };
  const body = new Ajv({ ...base, coerceTypes: false, removeAdditional: false });
  const query = new Ajv({ ...base, coerceTypes: 'array', removeAdditional: false });
  for (const ajv of [body, query]) {
    addFormats.default(ajv);
    for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format.validate);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : query).compile(schema));
}

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

function describeIssues(context: string, issues: ValidationIssue[]): { message: string; details: object[] } {
  const details = issues.map((issue) => {
    const path = `${context}${issue.instancePath}`;
    if (issue.keyword === 'additionalProperties') {
      return { path, message: `unknown field "${String(issue.params.additionalProperty)}"` };
    }
    if (issue.keyword === 'format') {
      const message = FORMATS[String(issue.params.format)]?.message;
      if (message) return { path, message };
    }
    return { path, message: issue.message ?? 'is invalid' };
  });
  return { message: details.map((d) => `${d.path} ${d.message}`).join('; '), details };
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

/** The router's refusals, before any route: in the API's error shape, the path not echoed. */
function handleRouterError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters`
      : 'the path is not a valid URL (bad percent-encoding)';
  reply.status(400).send(errorBody('VALIDATION_FAILED', message));
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof CommanderError) {
    // Work refused for load (BUSY) or while starting and stopping (NOT_READY) is worth retrying.
    if (error.status === 503) reply.header('retry-after', '5');
    return reply.status(error.status).send(errorBody(error.code, error.message, error.details));
  }
  if (isDatabaseUnavailable(error)) {
    // The database is restarting or failing over: a 503 the client may retry once it is back
    // (the pool reconnects on its own), not a 500 that blames the request or the gateway.
    request.log.warn({ err: error }, 'request refused: the database is unreachable');
    reply.header('retry-after', '1');
    return reply.status(503).send(errorBody('UNAVAILABLE', errorCatalogue.UNAVAILABLE.message));
  }
  if (error.validation) {
    const { message, details } = describeIssues(
      error.validationContext ?? 'request',
      error.validation as ValidationIssue[],
    );
    return reply.status(400).send(errorBody('VALIDATION_FAILED', message, details));
  }
  const known = FASTIFY_CODES[error.code];
  if (known) return reply.status(error.statusCode ?? 400).send(errorBody(known, error.message));
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return reply.status(400).send(errorBody('INVALID_JSON', `the body is not valid JSON: ${error.message}`));
  }
  if (error.statusCode && error.statusCode < 500) {
    return reply.status(error.statusCode).send(errorBody('VALIDATION_FAILED', error.message));
  }
  request.log.error({ err: error }, 'request failed');
  return reply
    .status(500)
    .send(errorBody('INTERNAL', 'internal error; see the gateway log for the request id'));
}
