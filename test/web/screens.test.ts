// The web application's screens in Debian's Chromium against an in-process gateway (no cluster
// runs here): a global token's workspaces and switcher, a fleet of 1,000 clusters drawn cheaply
// (only the rows in view are in the DOM) with search, status filter and live counts, the API's
// error beside the field it names, a delete confirmed by the cluster's name, and the tunnels
// opened into a cluster (a real tunnel through a raw agent).
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webRoot } from '../../gateway/web.js';
import type { MuxStream } from '../../shared/mux/stream.js';
import { openTunnel } from '../../shared/tunnel-client.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectRawAgent } from '../support/raw-agent.js';
import { roundTrip } from '../support/tcp.js';
import { haveChromium, launchChromium, screenshots } from './browser.js';

const FLEET = 1000;

/** The raw agent's side of a tunnel: accepts the dial and echoes the bytes back. */
async function echoTunnel(stream: MuxStream): Promise<void> {
  stream.on('error', () => {});
  const { rest } = await readFirstMessage(stream);
  stream.write(encodeMessage({ ok: true }));
  if (rest.length > 0) stream.write(rest);
  stream.pipe(stream);
}

describe.skipIf(!haveChromium && !process.env.CI)('the web application’s screens in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let global = '';
  let workspaceToken = '';
  const shot = screenshots('screens');

  beforeAll(async () => {
    if (!webRoot()) throw new Error('dist/web is missing: run npm run build first');
    gw = await startTestGateway();
    global = await gw.globalToken('global_admin');
    workspaceToken = await gw.token('admin', 'fleet-a');
    const workspace = await ensureWorkspace(gw.db.sql, 'fleet-a');
    await gw.db.sql`insert into clusters (workspace_id, name, status, agent_status)
      select ${workspace.id}, 'cluster-' || lpad(i::text, 4, '0'),
        (array['in_sync', 'in_sync', 'changing', 'creation_failed'])[1 + i % 4], 'connected'
      from generate_series(0, ${FLEET - 1}) as i`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(20_000);
  });

  // A failed step leaves a picture of where the page was.
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && page) await shot(page, 'failed').catch(() => {});
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('signs a global token in to the workspaces, and opens one with its own token', async () => {
    await page.goto(gw.url);
    await page.getByLabel('API token').fill(global);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await page.locator('li', { hasText: 'fleet-a' }).waitFor();
    await page.getByLabel('Workspace name').fill('staging');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.locator('li', { hasText: 'staging' }).waitFor();
    await shot(page, 'workspaces');
    await page.locator('li', { hasText: 'fleet-a' }).getByRole('button', { name: 'Open' }).click();
    await page.getByLabel('Workspace token').fill(workspaceToken);
    await page.getByRole('button', { name: 'Open workspace' }).click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor();
    expect(await page.getByLabel('Workspace', { exact: true }).locator('option:checked').textContent()).toBe(
      'fleet-a',
    );
  }, 60_000);

  it('draws 1,000 clusters with only the rows in view in the page, and scrolls to the last', async () => {
    await page.getByRole('button', { name: `All ${FLEET}` }).waitFor();
    const rows = page.locator('table[aria-label="Clusters"] tbody tr:not(.spacer)');
    expect(await rows.count()).toBeGreaterThan(10);
    expect(await rows.count()).toBeLessThan(60);
    await page.getByRole('button', { name: /Ready 500/ }).waitFor();
    await shot(page, 'fleet-1000');
    // Scrolled as a person scrolls: the wheel over the list.
    await page.locator('.fleet').hover();
    await page.mouse.wheel(0, FLEET * 40);
    await page.getByRole('link', { name: 'cluster-0999' }).waitFor();
    expect(await rows.count()).toBeLessThan(60);
  }, 60_000);

  it('searches, filters by status, and counts live', async () => {
    await page.getByLabel('Search').fill('cluster-004');
    await page.getByRole('link', { name: 'cluster-0049' }).waitFor();
    expect(await page.locator('table[aria-label="Clusters"] tbody tr:not(.spacer)').count()).toBe(10);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('creation_failed');
    await page.getByRole('link', { name: 'cluster-0003' }).waitFor();
    expect(await page.getByRole('link', { name: 'cluster-0000' }).count()).toBe(0);
    await page.getByLabel('Status', { exact: true }).selectOption('');
    // A change made in the database (the manager, another replica) reaches the list by itself.
    await gw.db.sql`update clusters set status = 'change_failed' where name = 'cluster-0000'`;
    await page.getByRole('button', { name: /Change Error 1/ }).waitFor();
    await page.getByRole('button', { name: /Ready 499/ }).waitFor();
    await shot(page, 'fleet-live');
  }, 60_000);

  it('shows the API’s error beside the field it names', async () => {
    await page.getByRole('link', { name: 'Registries' }).click();
    await page.getByLabel('Name').fill('mirror');
    await page.getByLabel('Images repository').fill('not a repository !');
    await page.getByRole('button', { name: 'Add registry' }).click();
    const field = page.getByLabel('Images repository');
    await page.locator('input[aria-invalid="true"]').waitFor();
    const describedBy = await field.getAttribute('aria-describedby');
    expect(describedBy).toBeTruthy();
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toMatch(/\S/);
    await shot(page, 'registry-error');
  }, 60_000);

  it('deletes a cluster once its name is typed', async () => {
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    await page.getByLabel('Search').fill('cluster-0001');
    await page.getByRole('link', { name: 'cluster-0001' }).click();
    await page.getByRole('button', { name: 'Delete cluster' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete cluster cluster-0001?' });
    const confirm = dialog.getByRole('button', { name: 'Delete cluster-0001' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type cluster-0001 to confirm').fill('cluster-0001');
    await shot(page, 'delete-confirm');
    await confirm.click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor();
    const [row] = await gw.db.sql`select status from clusters where name = 'cluster-0001'`;
    expect(['delete', 'deleted']).toContain(row?.status);
  }, 60_000);

  it('shows the tunnels opened into a cluster, who opened them and the bytes they carried', async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: workspaceToken,
      body: { name: 'tunnelled', allowed_targets: ['db.internal:5432'] },
    });
    expect(created.status, created.text).toBe(201);
    const clusterId = created.body.id as string;
    const issued = await gw.request('POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {
      token: workspaceToken,
      body: {},
    });
    const agent = await connectRawAgent(gw.url, clusterId, {
      enrollmentToken: issued.body.token,
      onTunnel: (stream) => void echoTunnel(stream).catch(() => stream.destroy()),
    });
    try {
      await page.getByRole('link', { name: 'Clusters', exact: true }).click();
      await page.getByLabel('Search').fill('tunnelled');
      await page.getByRole('link', { name: 'tunnelled' }).click();
      await page.getByRole('link', { name: 'Tunnels' }).click();
      await page.getByText('No tunnels yet.').waitFor();
      const tunnel = await openTunnel({
        api: gw.url,
        token: workspaceToken,
        clusterId,
        target: 'db.internal:5432',
      });
      expect(await roundTrip(tunnel, 'hello tunnel')).toBe('hello tunnel');
      tunnel.destroy();
      const table = page.getByRole('table', { name: 'Tunnels' });
      // Recorded when it closes: Refresh until the row is there.
      await expect
        .poll(
          async () => {
            await page.getByRole('button', { name: 'Refresh' }).click();
            return table.locator('tbody tr').count();
          },
          { timeout: 20_000 },
        )
        .toBe(1);
      const cells = await table.locator('tbody tr td').allTextContents();
      expect(cells[1]).toMatch(/\S/);
      expect(cells[2]).toBe('db.internal:5432');
      expect(cells[5]).toBe('12 B');
      expect(cells[6]).toBe('12 B');
      await shot(page, 'tunnels');
    } finally {
      agent.close();
    }
  }, 60_000);

  it('switches back to all workspaces', async () => {
    await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'All workspaces' });
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  }, 60_000);
});
