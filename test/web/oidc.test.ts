// "Sign in with OIDC" in Debian's Chromium: a gateway with an issuer (a small test issuer,
// test/support/oidc-issuer.ts) shows the button, runs the authorization-code flow with PKCE, and
// the issuer's JWT opens the workspace its claims name, leaving no code in the address bar; what
// the user does is audited under their name; signing out forgets the token. An issuer's refusal
// (access_denied), a code bound to another challenge and an answer with the wrong state are shown
// on the sign-in screen. A gateway without an issuer shows no OIDC button.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webRoot } from '../../gateway/web.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.js';
import { haveChromium, launchChromium, screenshots } from './browser.js';

const USER = 'ada@example.com';

describe.skipIf(!haveChromium && !process.env.CI)('signing in with OIDC in Chromium', () => {
  let issuer: TestIssuer;
  let gw: TestGateway;
  let plain: TestGateway;
  let browser: Browser;
  let page: Page;
  const shot = screenshots('oidc');

  beforeAll(async () => {
    if (!webRoot()) throw new Error('dist/web is missing: run npm run build first');
    issuer = await startTestIssuer({
      clientId: 'commander-web',
      audience: 'commander',
      claims: { commander_workspace: 'oidc-team', commander_role: 'admin', email: USER },
    });
    gw = await startTestGateway({
      oidc: {
        issuer: issuer.url,
        audience: 'commander',
        clientId: 'commander-web',
        workspaceClaim: 'commander_workspace',
        roleClaim: 'commander_role',
        userClaim: 'email',
      },
    });
    await gw.token('viewer', 'oidc-team'); // creates the workspace
    plain = await startTestGateway();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && page) await shot(page, 'failed').catch(() => {});
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await plain?.close();
    await issuer?.close();
  });

  /** The sign-in screen once it knows the gateway's sign-in methods. */
  const signInScreen = async (url: string) => {
    await page.goto(url);
    await page.locator('form[aria-busy="false"]').waitFor();
  };

  it('says which methods sign in, without a token, and lets the issuer in through the CSP', async () => {
    const methods = await gw.request('GET', '/api/v1/auth/methods');
    expect(methods.status).toBe(200);
    expect(methods.body).toEqual({ oidc: { issuer: issuer.url, client_id: 'commander-web' } });
    expect((await plain.request('GET', '/api/v1/auth/methods')).body).toEqual({ oidc: null });
    const csp = (await fetch(`${gw.url}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ${issuer.url};`);
    const strict = (await fetch(`${plain.url}/`)).headers.get('content-security-policy') ?? '';
    expect(strict).toContain("connect-src 'self';");
  });

  it('shows no OIDC button when the gateway has no issuer', async () => {
    await signInScreen(plain.url);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign in with OIDC' }).count()).toBe(0);
    await shot(page, 'no-issuer');
  });

  it('signs in through the issuer with PKCE and opens the workspace its claims name', async () => {
    const visited: string[] = [];
    // Navigations the page made (a redirect's target included).
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
    await signInScreen(gw.url);
    await shot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in with OIDC' }).click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor();
    // The flow went through the issuer and came back; the code is gone from the address bar.
    expect(visited.some((url) => url.startsWith(`${issuer.url}/authorize?`))).toBe(true);
    const authorize = new URL(visited.find((url) => url.startsWith(`${issuer.url}/authorize?`)) as string);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${gw.url}/oidc/callback`);
    expect(page.url()).toBe(`${gw.url}/clusters`);
    expect(issuer.refusals).toEqual([]);
    const token = (await page.evaluate("sessionStorage.getItem('commander.token')")) as string;
    expect(token.split('.')).toHaveLength(3);
    expect(await page.evaluate("sessionStorage.getItem('commander.oidc')")).toBeNull();
    await shot(page, 'clusters');

    // What the user does is audited under the user's name.
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Token name').fill('made by ada');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('code.secret').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: USER }).first().waitFor();
    expect(gw.audit.at(-1)).toMatchObject({
      auditable_type: 'AuthToken',
      action: 'create',
      user_type: 'User',
      user_name: USER,
      workspace_slug: 'oidc-team',
    });
    await shot(page, 'audit');
  });

  it('signs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('commander.token')")).toBeNull();
    await page.reload();
    await page.getByLabel('API token').waitFor();
  });

  it('shows the issuer’s refusal (access_denied) on the sign-in screen', async () => {
    issuer.mode = 'deny';
    try {
      await signInScreen(gw.url);
      await page.getByRole('button', { name: 'Sign in with OIDC' }).click();
      await page.getByRole('alert').filter({ hasText: 'access_denied' }).waitFor();
      expect(await page.getByRole('alert').textContent()).toMatch(/refused the sign-in: access_denied/);
      expect(page.url()).toBe(`${gw.url}/`);
      expect(await page.evaluate("sessionStorage.getItem('commander.token')")).toBeNull();
      await shot(page, 'access-denied');
    } finally {
      issuer.mode = 'approve';
    }
  });

  it('refuses a code bound to another PKCE challenge, and an answer with another state', async () => {
    // The sign-in starts here; its way to the issuer is cut, and a code issued for another
    // challenge (an attacker's, say) comes back to this tab instead.
    let started = '';
    await page.route(`${issuer.url}/authorize**`, (route) => {
      started = route.request().url();
      return route.abort();
    });
    await signInScreen(gw.url);
    await page.getByRole('button', { name: 'Sign in with OIDC' }).click();
    await expect.poll(() => started).not.toBe('');
    await page.unrouteAll();
    const forged = new URL(started);
    forged.searchParams.set('code_challenge', 'A'.repeat(43));
    await page.goto(forged.toString());
    await page.getByRole('alert').filter({ hasText: 'verifier' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/refused the code: invalid_grant/);
    expect(issuer.refusals).toEqual(['PKCE verifier does not match the challenge']);
    expect(await page.evaluate("sessionStorage.getItem('commander.token')")).toBeNull();
    await shot(page, 'wrong-verifier');

    await page.goto(`${gw.url}/oidc/callback?code=anything&state=not-ours`);
    await page.getByRole('alert').filter({ hasText: 'does not match' }).waitFor();
    expect(page.url()).toBe(`${gw.url}/`);
    expect(issuer.refusals).toHaveLength(1); // the code was never sent
  });
});
