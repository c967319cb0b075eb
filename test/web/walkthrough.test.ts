// The web application in Debian's Chromium, end to end against `commander up` (the gateway and
// a manager in one process, with a test installers file), a real sshd for the master and a real agent on the Kubernetes API double: sign in; a catalog
// and its record, a template with a version (previewed by the template engine in the browser),
// a cluster from it through the parameters form; the cluster reaches in_sync and its telemetry
// chart is drawn without a reload; a destructive change is approved; a task's log is followed;
// a token is revoked; a tunnel into the cluster shows in its Tunnels tab. Screenshots are saved
// at each step (their paths are printed).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTunnel, type TunnelClientError } from '../../shared/tunnel-client.js';
import { eventually } from '../e2e/agent-stack.js';
import { api } from '../e2e/helpers.js';
import { startTemplateStack, type TemplateStack, templateStackRunnable } from '../e2e/template-stack.js';
import { haveChromium, launchChromium, screenshots } from './browser.js';

const runnable = templateStackRunnable && haveChromium;

// The master count is the disruptive part of the configuration: a change to it waits for approval.
const bundleConfig = '{bundle}/cluster-configuration.yaml';
const appliedConfig = '{bundle}/applied-cluster-configuration.yaml';
const check = [
  `if cmp -s ${bundleConfig} ${appliedConfig}; then echo '{"status": "InSync"}';`,
  `elif [ "$(grep replicas: ${bundleConfig})" != "$(grep replicas: ${appliedConfig})" ]; then`,
  `echo '{"status": "DestructiveOutOfSync", "destructive_change_id": "masters"}';`,
  `else echo '{"status": "OutOfSync"}'; fi`,
].join(' ');

const params = [
  { header: 'Cluster' },
  { key: 'slot', title: 'Slot', catalog: 'slots', span: 2 },
  { key: 'masterCount', type: 'string', title: 'Masters', enum: ['1', '3'] },
  { key: 'kubernetesVersion', type: 'string', title: 'Kubernetes', default: '1.29', immutable: true },
  { header: 'Access' },
  { key: 'sshPort', type: 'number', title: 'SSH port', default: 22 },
  { key: 'sshUser', type: 'string', title: 'SSH user' },
];

const sections: Record<string, string> = {
  Kubernetes: [
    'apiVersion: deckhouse.io/v1',
    'kind: ClusterConfiguration',
    'clusterType: Static',
    'kubernetesVersion: {{ .kubernetesVersion | quote }}',
    'masterNodeGroup:',
    '  replicas: {{ .masterCount }}',
    '',
  ].join('\n'),
  Placement: [
    'apiVersion: deckhouse.io/v1',
    'kind: StaticClusterConfiguration',
    'internalNetworkCIDRs:',
    '- {{ .slot.ip }}/32',
    '',
  ].join('\n'),
  'SSH parameters': [
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHConfig',
    'sshUser: {{ .sshUser }}',
    'sshPort: {{ .sshPort }}',
    'sshAgentPrivateKeys:',
    '- key: {{ printf "%q" .dc_sshPrivateKey }}',
    '---',
    'apiVersion: dhctl.deckhouse.io/v1',
    'kind: SSHHost',
    'host: {{ .slot.ip }}',
    '',
  ].join('\n'),
  Resources: [
    'apiVersion: deckhouse.io/v1alpha1',
    'kind: ModuleConfig',
    'metadata:',
    '  name: commander-agent',
    'spec:',
    '  enabled: true',
    '  version: 1',
    '  settings:',
    '    commanderUrl: "https://{{ .dc_domain }}/agent_api/{{ .dc_clusterUUID }}"',
    '',
  ].join('\n'),
};

describe.skipIf(!runnable && !process.env.CI)('the web application in Chromium, end to end', () => {
  let stack: TemplateStack;
  let browser: Browser;
  let page: Page;
  let admin = '';
  let clusterId = '';
  let fullLoads = 0;
  const shot = screenshots('walkthrough');

  beforeAll(async () => {
    if (!runnable) throw new Error('Chromium, sshd and root with iproute2 are required in CI');
    stack = await startTemplateStack('commander-web-', { check, up: true });
    admin = (
      await stack.processes.run(['token', 'create', '--workspace', 'fleet', '--role', 'admin'], stack.env)
    ).stdout.trim();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
    // Full page loads; live updates must not need one.
    page.on('load', () => fullLoads++);
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    if (clusterId) {
      rmSync(join(process.env.HOME ?? '/root', '.commander', `bundle-${clusterId}`), {
        recursive: true,
        force: true,
      });
    }
    await stack?.stop();
  });

  // A failed step leaves a picture of where the page was.
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && page) await shot(page, 'failed').catch(() => {});
  });

  const clusterApi = async () =>
    (await api(stack.gateway, 'GET', `/api/v1/clusters/${clusterId}`, { token: stack.token })).body;

  /** Rejects, with the tasks' logs, once the cluster lands in a failed status; ends with `watch.done`. */
  const watch = { done: false };
  const failsFirst = () =>
    eventually(
      'a failed status or the end of the wait',
      async () => {
        if (watch.done) return '';
        const cluster = await clusterApi();
        if (!['creation_failed', 'change_failed', 'configuration_error'].includes(cluster.status))
          return undefined;
        const tasks = (
          await api(stack.gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token: stack.token })
        ).body as { log: string }[];
        return `the cluster became ${cluster.status}: ${tasks.map((t) => t.log).join('\n')}`;
      },
      240_000,
      500,
    ).then((failure) => {
      if (failure) throw new Error(failure);
    });

  it('signs in with an API token; a wrong one is refused beside the field', async () => {
    await page.goto(stack.gateway);
    await page.getByLabel('API token').fill('cmdr_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/token/i);
    await shot(page, 'sign-in-refused');
    // By keyboard: the field, then Enter submits the form.
    await page.getByLabel('API token').fill(admin);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Clusters' }).waitFor();
    // The token is in session storage, never in the address.
    expect(page.url()).not.toContain(admin);
    expect(await page.evaluate("sessionStorage.getItem('commander.token')")).toBe(admin);
    await shot(page, 'clusters-empty');
  }, 240_000);

  it('creates a catalog and a record through the forms', async () => {
    await page.getByRole('link', { name: 'Inventory' }).click();
    await page.getByLabel('Slug').fill('slots');
    await page.getByLabel('Catalog name').fill('Slots');
    // The default schema: one string field "ip" titled Address.
    await page.getByRole('button', { name: 'Create catalog' }).click();
    await page.getByRole('link', { name: 'Slots' }).click();
    // The API's 422 shows beside the field: the address is required.
    await page.getByRole('button', { name: 'Add record' }).click();
    await page.getByText('is required').waitFor();
    await page.getByLabel('Address').fill(stack.ns.nsAddress);
    await page.getByRole('button', { name: 'Add record' }).click();
    await page.getByRole('cell', { name: stack.ns.nsAddress }).waitFor();
    await shot(page, 'catalog-record');
  }, 240_000);

  it('creates a template with a version, previewed in the browser by the template engine', async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('link', { name: 'Create template' }).click();
    await page.getByLabel('Template name').fill('static-slot');
    await page.getByLabel('Version comment').fill('a static cluster on an inventory slot');
    await page.getByLabel('Parameter schema (JSON)').fill(JSON.stringify(params, null, 2));
    for (const [tab, text] of Object.entries(sections)) {
      await page.getByRole('button', { name: tab, exact: true }).click();
      await page.getByLabel(`Section: ${tab}`).fill(text);
    }
    await page.getByRole('button', { name: 'Kubernetes', exact: true }).click();
    // The default of kubernetesVersion, rendered by shared/template in the page.
    await page.locator('pre.preview', { hasText: 'kubernetesVersion: "1.29"' }).waitFor();
    await shot(page, 'template-editor');
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByRole('heading', { name: 'static-slot' }).waitFor();
    expect(await page.getByLabel('Version').locator('option').first().textContent()).toContain('v1');
  }, 240_000);

  it('creates a cluster through the parameters form and watches it reach in_sync without reloading', async () => {
    await page.getByRole('link', { name: 'Clusters' }).click();
    await page.getByRole('link', { name: 'Create cluster' }).click();
    await page.getByLabel('Name', { exact: true }).fill('web-1');
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'static-slot' });
    await page.getByLabel('Slot').selectOption({ label: stack.ns.nsAddress });
    // The form checks as the API does: Masters is required, and said so beside it.
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const masters = page.getByLabel('Masters');
    await page.locator('select[name="masterCount"][aria-invalid="true"]').waitFor();
    const describedBy = await masters.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe('is required');
    await shot(page, 'create-cluster-invalid');
    await page.getByLabel('Masters').selectOption('1');
    await page.getByLabel('SSH port').fill(String(stack.master.port));
    await page.getByLabel('SSH user').fill(stack.master.user);
    await shot(page, 'create-cluster');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'web-1' }).waitFor();
    clusterId = page.url().split('/clusters/')[1]?.split('/')[0] ?? '';
    expect(clusterId).toMatch(/^[0-9a-f-]{36}$/);
    // The manager takes the install at once and meets a closed port: an ordinary failure, retried.
    // Then the master comes up trusting the key pair Commander generated for this cluster, and a
    // later attempt installs.
    const refused = await eventually(
      'the first install attempt refused',
      async () => {
        const tasks = (
          await api(stack.gateway, 'GET', `/api/v1/tasks?cluster_id=${clusterId}`, { token: stack.token })
        ).body as { kind: string; status: string; attempts: number; error: string | null }[];
        return tasks.find(
          (t) => t.kind === 'install' && t.attempts >= 1 && t.error?.includes('ECONNREFUSED'),
        );
      },
      120_000,
      250,
    );
    expect(['pending', 'running']).toContain(refused.status);
    await stack.startMaster((await clusterApi()).ssh_public_key);
    const loadsBefore = fullLoads;
    try {
      await Promise.race([
        page.locator('.status-line .badge', { hasText: 'Ready' }).waitFor({ timeout: 120_000 }),
        failsFirst(),
      ]);
    } finally {
      watch.done = true;
    }
    await page.locator('.status-line .badge', { hasText: 'Connected' }).waitFor({ timeout: 60_000 });
    expect((await clusterApi()).status).toBe('in_sync');
    expect(fullLoads).toBe(loadsBefore);
    await shot(page, 'cluster-in-sync');
  }, 240_000);

  it("draws the cluster's telemetry charts", async () => {
    await page.locator('.chart canvas').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('.chart').count()).toBe(4);
    const samples = await page.locator('.chart [role="img"]').first().getAttribute('aria-label');
    expect(samples).toMatch(/[1-9]\d* samples/);
    await shot(page, 'cluster-telemetry');
  }, 240_000);

  it('follows the install task’s log', async () => {
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('button', { name: /install/ }).click();
    await page.locator('pre.log', { hasText: 'installer started' }).waitFor();
    await shot(page, 'task-log');
  }, 240_000);

  it('saves a destructive change, approves its change request, and the change is applied', async () => {
    await page.getByRole('link', { name: 'Configuration' }).click();
    // Set once: the Kubernetes version is locked.
    expect(await page.getByLabel('Kubernetes').isDisabled()).toBe(true);
    await page.getByLabel('Masters').selectOption('3');
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await page.getByRole('heading', { name: 'Pending change' }).waitFor();
    await shot(page, 'configuration-pending');
    await page.getByRole('link', { name: 'Change requests' }).click();
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor({ timeout: 60_000 });
    await shot(page, 'change-request');
    await approve.click();
    await page.getByRole('cell', { name: 'completed' }).waitFor({ timeout: 60_000 });
    // The reconcile that applied it: its log, live on the Tasks tab.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.locator('pre.log', { hasText: 'converged' }).waitFor({ timeout: 60_000 });
    await shot(page, 'task-log-converged');
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('.status-line .badge', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
    const cluster = await clusterApi();
    expect(cluster.values.masterCount).toBe('3');
    const requests = (
      await api(stack.gateway, 'GET', `/api/v1/cluster_change_requests?cluster_id=${clusterId}`, {
        token: stack.token,
      })
    ).body;
    expect(requests[0]).toMatchObject({ status: 'completed', approved_by: expect.any(String) });
  }, 240_000);

  it('lists the fleet with its status words, and audits what the browser did', async () => {
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    await page.getByRole('cell', { name: 'web-1' }).waitFor();
    await page.getByRole('table', { name: 'Clusters' }).getByText('Ready').waitFor();
    await shot(page, 'fleet');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'approve', exact: true }).waitFor();
    await shot(page, 'audit');
  }, 240_000);

  it('creates a token, shows it once, and revokes it', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Token name').fill('ci robot');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('code.secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^cmdr_/);
    const before = await api(stack.gateway, 'GET', '/api/v1/clusters', { token: secret });
    expect(before.status).toBe(200);
    await shot(page, 'token-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.locator('code.secret').count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke ci robot' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke ci robot' }).click();
    await page.getByRole('cell', { name: /^revoked/ }).waitFor();
    await shot(page, 'token-revoked');
    await eventually('the revoked token refused', async () => {
      const after = await api(stack.gateway, 'GET', '/api/v1/clusters', { token: secret });
      return after.status === 401 ? true : undefined;
    });
  }, 240_000);

  it('shows a tunnel opened into the cluster in its Tunnels tab', async () => {
    // The tunnel API as `commander tunnel` uses it; the cluster allows no targets, so the gateway
    // refuses it, and records it like any tunnel. The manager's installs tunnelled in before.
    const refused = await openTunnel({
      api: stack.gateway,
      token: admin,
      clusterId,
      target: '127.0.0.1:22',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as TunnelClientError).code).toBe('target_not_allowed');
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    await page.getByRole('link', { name: 'web-1' }).click();
    await page.getByRole('link', { name: 'Tunnels' }).click();
    const row = page.getByRole('table', { name: 'Tunnels' }).locator('tbody tr', { hasText: '127.0.0.1:22' });
    await row.waitFor();
    expect(await row.locator('td').nth(4).textContent()).toBe('target_not_allowed');
    // The manager's SSH to the master went through the agent: tunnels that carried bytes.
    const carried = page
      .getByRole('table', { name: 'Tunnels' })
      .locator('tbody tr', { hasText: 'manager' })
      .filter({ hasText: 'closed' });
    expect(await carried.count()).toBeGreaterThan(0);
    expect(await carried.first().locator('td').nth(6).textContent()).not.toBe('0 B');
    await shot(page, 'tunnels');
  }, 240_000);

  it('signs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('commander.token')")).toBeNull();
  }, 240_000);
});
