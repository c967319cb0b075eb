// The web application with a fleet of 1,000 clusters, in Debian's Chromium: the time from
// navigation to the clusters list drawn (rows on screen, counted in the page's own clock), and
// the gzipped size of the JavaScript the first screen loads. Each round is a fresh `commander
// gateway` on a fresh database and a fresh browser (nothing cached). Goals: under 1 s, 250 KB.
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import postgres from 'postgres';
import { api, type Gateway, log, Resources, startGateway } from './harness.js';
import { percentile, report } from './report.js';

const CLUSTERS = 1000;
const CONCURRENCY = 16;
const ROUNDS = 3;
const CHROMIUM = process.env.COMMANDER_CHROMIUM ?? '/usr/bin/chromium';
const STATUSES = ['in_sync', 'in_sync', 'in_sync', 'changing', 'creation_failed', 'new'];

interface Round {
  drawnMs: number;
  jsGzipBytes: number;
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
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Signed in already: the token in session storage, as the sign-in screen leaves it.
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
      `(() => {
        const rows = document.querySelectorAll('table[aria-label="Clusters"] tbody tr:not(.spacer)').length;
        const all = document.querySelector('.counts strong')?.textContent;
        return rows > 10 && all === '${CLUSTERS}' ? performance.now() : false;
      })()`,
      undefined,
      { polling: 'raf', timeout: 30_000 },
    );
    const drawnMs = (await drawn.jsonValue()) as number;
    const jsGzipBytes = (await Promise.all(scripts)).reduce((a, b) => a + b, 0);
    log(
      `web-fleet: drawn in ${drawnMs.toFixed(0)} ms, ${scripts.length} scripts, ${jsGzipBytes} bytes gzipped`,
    );
    return { drawnMs, jsGzipBytes };
  } finally {
    await resources.close();
  }
}

export async function run(databaseUrl: string): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`web-fleet needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(databaseUrl));
  const sorted = (pick: (r: Round) => number) => rounds.map(pick).sort((a, b) => a - b);
  report({
    bench: 'web-fleet',
    metric: 'clusters_1000_drawn_p50',
    value: percentile(
      sorted((r) => r.drawnMs),
      50,
    ),
    unit: 'ms',
  });
  report({
    bench: 'web-fleet',
    metric: 'clusters_1000_drawn_max',
    value: Math.max(...sorted((r) => r.drawnMs)),
    unit: 'ms',
  });
  report({
    bench: 'web-fleet',
    metric: 'first_screen_js_gzip',
    value: Math.max(...sorted((r) => r.jsGzipBytes)) / 1024,
    unit: 'KiB',
  });
}
