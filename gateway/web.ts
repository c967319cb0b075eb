// Serves the web application built into dist/web: index.html for `/` and any path that is not
// the API's (the application routes in the browser), hashed assets under /assets cached for a
// year. The files are read once at start (a few hundred kilobytes), gzipped once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../shared/errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Paths that belong to the API and the programs, never to the application. */
const NOT_APPLICATION = /^\/(api|agent_api|docs|openapi\.json|metrics|healthz|readyz|assets)(\/|$)/;

/**
 * The application talks to its own origin only; inline scripts never run. With an OIDC issuer,
 * the browser also reads the issuer's discovery document and exchanges the sign-in code at its
 * token endpoint, so the issuer's origin (and only it) joins connect-src.
 */
function contentSecurityPolicy(oidcIssuer?: string): string {
  const connect = oidcIssuer ? `'self' ${new URL(oidcIssuer).origin}` : "'self'";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

interface WebFile {
  body: Buffer;
  gzipped: Buffer;
  type: string;
}

/** dist/web beside the compiled gateway (dist/gateway), or from the sources (gateway/). */
export function webRoot(): string | undefined {
  const candidates = ['../web/', '../dist/web/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets')));
}

function load(dir: string): { index: WebFile; assets: Map<string, WebFile> } {
  const file = (path: string): WebFile => {
    const body = readFileSync(path);
    return { body, gzipped: gzipSync(body), type: TYPES[extname(path)] ?? 'application/octet-stream' };
  };
  const assets = new Map<string, WebFile>();
  for (const name of readdirSync(join(dir, 'assets'))) assets.set(name, file(join(dir, 'assets', name)));
  return { index: file(join(dir, 'index.html')), assets };
}

function send(request: FastifyRequest, reply: FastifyReply, file: WebFile) {
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  reply
    .header('content-type', file.type)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply.send(gzip ? file.gzipped : file.body);
}

function sendIndex(request: FastifyRequest, reply: FastifyReply, index: WebFile, csp: string) {
  reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', csp)
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
  return send(request, reply, index);
}

/**
 * Registers `/` and `/assets/*`, and returns the fallback for unknown paths: index.html for a
 * GET of an application path, undefined otherwise (the API's 404 then). Without a build,
 * nothing is registered.
 */
export function webRoutes(
  app: FastifyInstance,
  dir = webRoot(),
  oidcIssuer?: string,
): ((request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined) | undefined {
  if (!dir) return undefined;
  const { index, assets } = load(dir);
  const csp = contentSecurityPolicy(oidcIssuer);
  app.get('/', { schema: { hide: true } }, (request, reply) => sendIndex(request, reply, index, csp));
  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, (request, reply) => {
    const file = assets.get(request.params.file);
    if (!file) return reply.status(404).send(errorBody('NOT_FOUND', 'no such asset'));
    // Names carry a hash of the content: a changed file has a new name.
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    return send(request, reply, file);
  });
  return (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if ((request.method !== 'GET' && request.method !== 'HEAD') || NOT_APPLICATION.test(path))
      return undefined;
    return sendIndex(request, reply, index, csp);
  };
}
