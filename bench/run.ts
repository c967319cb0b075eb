// `npm run bench [-- <name>...]`: runs the benchmarks, each printing JSON lines.
import { join } from 'node:path';
import { startEmbedded } from '../shared/db/embedded.js';

const benches: Record<string, (databaseUrl: string) => Promise<void>> = {
  'api-requests': async (url) => (await import('./api-requests.js')).run(url),
  'api-clusters': async (url) => (await import('./api-clusters.js')).run(url),
  'api-under-load': async (url) => (await import('./api-under-load.js')).run(url),
  'tunnel-throughput': async (url) => (await import('./tunnel-throughput.js')).run(url),
  'tunnel-latency': async (url) => (await import('./tunnel-latency.js')).run(url),
  'tunnel-hol': async (url) => (await import('./tunnel-hol.js')).run(url),
  'agents-idle': async (url) => (await import('./agents-idle.js')).run(url),
  'reconnect-storm': async (url) => (await import('./reconnect-storm.js')).run(url),
  'tasks-throughput': async (url) => (await import('./tasks-throughput.js')).run(url),
  'sync-latency': async (url) => (await import('./sync-latency.js')).run(url),
  'sync-fanout': async (url) => (await import('./sync-fanout.js')).run(url),
  'telemetry-ingest': async (url) => (await import('./telemetry-ingest.js')).run(url),
  'template-render': async () => (await import('./template-render.js')).run(),
  'web-fleet': async (url) => (await import('./web-fleet.js')).run(url),
};

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((name) => !(name in benches));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(', ')}; have ${Object.keys(benches).join(', ')}`);
  const embedded = process.env.DATABASE_URL
    ? undefined
    : await startEmbedded(join(process.cwd(), '.commander-bench'), () => {});
  const url = process.env.DATABASE_URL ?? (embedded?.url as string);
  try {
    for (const name of names.length > 0 ? names : Object.keys(benches)) await benches[name]?.(url);
  } finally {
    await embedded?.stop();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
