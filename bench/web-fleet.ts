// The web application with a fleet of 1,000 clusters, in Debian's Chromium: the time from
// navigation to the clusters list drawn (rows on screen, counted in the page's own clock), and
// the gzipped size of the JavaScript the first screen loads. Each round is a fresh `commander
// gateway` on a fresh database and a fresh browser (nothing cached). Goals: under 1 s, 250 KB.
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';
import postgres from 'postgres';
import { api, type Gateway, log, Resources, startGateway } from './harness.js';
import { percentile, report } from './report.js';

const CLUSTERS = 1000;
const CONCURRENCY = 16;
const ROUNDS = 3;
const CHROMIUM = process.env.COMMANDER_CHROMIUM ?? '/usr/bin/chromium';
const STATUSES = ['in_sync', 'in_sync', 'in_sync', 'changing', 'creation_failed', 'new'];

/** What the function run in the page uses of its globals (this file is compiled without the DOM's types). */
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): { length: number };
    querySelector(selector: string): { textContent: string | null } | null;
  };
  performance: {
    now(): number;
    getEntriesByType(type: string): { name: string; startTime: number; responseEnd: number }[];
  };
}

interface Round {
  cold: Visit;
  warm: Visit;
}

/** 1,000 clusters through the API, then statuses and telemetry as agents would have left them. */
async function fillFleet(gateway: Gateway): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < CLUSTERS; i = next++) {
      await api(gateway, 'POST', '/api/v1/clusters', { name: `cluster-${String(i).padStart(4, '0')}` });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const sql = postgres(gateway.env.DATABASE_URL as string, { max: 1, onnotice: () => {} });
  try {
    const telemetry = {
      time: new Date().toISOString(),
      cpus: 48,
      memory_bytes: 192 * 1024 ** 3,
      nodes: 6,
      storage_bytes: 2 * 1024 ** 4,
      kubernetes_version: '1.30.4',
      platform_version: '1.66.3',
      components: [],
    };
    const rows = await sql<{ id: string }[]>`select id from clusters order by name`;
    for (const [i, row] of rows.entries()) {
      await sql`update clusters set status = ${STATUSES[i % STATUSES.length] as string},
        agent_status = 'connected', telemetry = ${sql.json(telemetry)}, telemetry_at = now(), last_seen_at = now()
        where id = ${row.id}`;
    }
  } finally {
    await sql.end();
  }
}

interface Visit {
  drawnMs: number;
  listMs: number;
  jsGzipBytes: number;
}

/** One visit in a fresh browser context (nothing cached, signed in already). */
async function visit(browser: Browser, gateway: Gateway): Promise<Visit> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    // The token in session storage, as the sign-in screen leaves it.
    await context.addInitScript(
      `sessionStorage.setItem('commander.token', ${JSON.stringify(gateway.token)})`,
    );
    const page = await context.newPage();
    const scripts: Promise<number>[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'script') {
        scripts.push(response.body().then((body) => gzipSync(body).length));
      }
    });
    await page.goto(`${gateway.url}/clusters`, { waitUntil: 'commit' });
    // Timed by the page's clock, from navigation start, to the frame where the rows are drawn.
    const drawn = await page.waitForFunction(
      (count: number) => {
        const page = globalThis as unknown as PageGlobals;
        const rows = page.document.querySelectorAll(
          'table[aria-label="Clusters"] tbody tr:not(.spacer)',
        ).length;
        const all = page.document.querySelector('.counts strong')?.textContent;
        return rows > 10 && all === String(count) ? page.performance.now() : false;
      },
      CLUSTERS,
      { polling: 'raf', timeout: 30_000 },
    );
    const drawnMs = (await drawn.jsonValue()) as number;
    const listMs = (await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      const entry = page.performance
        .getEntriesByType('resource')
        .find((e) => e.name.includes('/api/v1/clusters'));
      return entry ? entry.responseEnd - entry.startTime : -1;
    })) as number;
    const jsGzipBytes = (await Promise.all(scripts)).reduce((a, b) => a + b, 0);
    return { drawnMs, listMs, jsGzipBytes };
  } finally {
    await context.close();
  }
}

/** A fresh gateway and database: the first visit finds the gateway cold, the second warm. */
async function round(databaseUrl: string): Promise<Round> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl);
    await fillFleet(gateway);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    resources.onClose(() => browser.close());
    const cold = await visit(browser, gateway);
    const warm = await visit(browser, gateway);
    log(
      `web-fleet: cold ${cold.drawnMs.toFixed(0)} ms (list ${cold.listMs.toFixed(0)} ms), warm ${warm.drawnMs.toFixed(0)} ms (list ${warm.listMs.toFixed(0)} ms), JS ${cold.jsGzipBytes} bytes gzipped`,
    );
    return { cold, warm };
  } finally {
    await resources.close();
  }
}

export async function run(databaseUrl: string): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`web-fleet needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(databaseUrl));
  const median = (pick: (r: Round) => number) =>
    percentile(
      rounds.map(pick).sort((a, b) => a - b),
      50,
    );
  const figure = (metric: string, value: number, unit: string) =>
    report({ bench: 'web-fleet', metric, value, unit });
  figure(
    'clusters_1000_drawn_cold_gateway_p50',
    median((r) => r.cold.drawnMs),
    'ms',
  );
  figure(
    'clusters_1000_drawn_p50',
    median((r) => r.warm.drawnMs),
    'ms',
  );
  figure(
    'clusters_1000_list_api_p50',
    median((r) => r.warm.listMs),
    'ms',
  );
  figure('first_screen_js_gzip', Math.max(...rounds.map((r) => r.cold.jsGzipBytes)) / 1024, 'KiB');
}
