// The measuring side of the template-render bench, run as a fresh Node process: both ways of
// rendering the cluster template with our engine, printed as one JSON line on stdout.
import { Template } from '../shared/template/index.js';
import { fromJson } from '../shared/template/value.js';
import { CLUSTER_TEMPLATE, clusterValues } from './cluster-template.js';

/** Renders per measurement; each side first renders as many to warm up. */
export const RENDERS = 2000;

/** Renders per second of one way of rendering, after as many renders to warm up. */
function measure(render: () => void): number {
  for (let i = 0; i < RENDERS; i++) render();
  const started = performance.now();
  for (let i = 0; i < RENDERS; i++) render();
  return RENDERS / ((performance.now() - started) / 1000);
}

/** In a fresh Node process: both ways of rendering, as one JSON line on stdout. */
function worker(): void {
  // The values decoded once, as the Go reference decodes its JSON once for all iterations.
  const values = fromJson(clusterValues());
  const parsed = Template.parse(CLUSTER_TEMPLATE);
  const executeParsed = measure(() => parsed.executeValue(values));
  const parseExecute = measure(() => Template.parse(CLUSTER_TEMPLATE).executeValue(values));
  process.stdout.write(`${JSON.stringify({ parseExecute, executeParsed })}\n`);
}

if (process.argv.includes('--worker')) worker();
