// The gateway serves the web application (built by `npm run build` into dist/web): index.html
// uncached with a strict content security policy, hashed assets cached for a year, index.html
// for application paths, and the API's own 404 for API paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webRoot } from '../../gateway/web.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the web application, as the gateway serves it', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    if (!webRoot()) throw new Error('dist/web is missing: run npm run build first');
    gw = await startTestGateway();
  });
  afterAll(() => gw?.close());

  it('answers / and application paths with index.html, not cached, no token needed', async () => {
    for (const path of ['/', '/clusters', '/clusters/00000000-0000-4000-8000-000000000000/tasks']) {
      const page = await gw.request('GET', path, { headers: { accept: 'text/html' } });
      expect(page.status, path).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.text).toContain('<div id="app"></div>');
    }
  });

  it('serves hashed assets for a year, gzipped when asked, and 404 for unknown ones', async () => {
    const page = await gw.request('GET', '/');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const plain = await fetch(`${gw.url}${script}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(plain.headers.get('content-encoding')).toBeNull();
    const body = await plain.text();
    const zipped = await fetch(`${gw.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.text()).toBe(body);
    expect((await gw.request('GET', '/assets/nothing-here.js')).status).toBe(404);
  });

  it('keeps API paths the API’s: JSON 404 and auth everywhere', async () => {
    const missing = await gw.request('GET', '/api/v1/no-such-thing');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('ROUTE_NOT_FOUND');
    expect((await gw.request('GET', '/api/v1/clusters')).status).toBe(401);
    expect((await gw.request('POST', '/clusters')).status).toBe(404);
  });
});
