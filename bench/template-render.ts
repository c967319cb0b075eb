// Template rendering, against Go's own text/template with sprig (bench/go-template) in the same
// run: a 200-line Deckhouse cluster template (ClusterConfiguration, StaticClusterConfiguration,
// SSHConfig and SSHHosts, ModuleConfigs, NodeGroups) with 50 parameters and a range over 30
// hosts. Each round starts a fresh Go process and a fresh Node process, so neither is measured
// only warm from the other rounds; the median round is reported.
// - parse_execute: parse + execute per render, as the Go reference does every iteration;
// - execute_parsed: one parse, then execute per render (what a server keeping parsed
//   versions does), against the same Go figure.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Template } from '../shared/template/index.js';
import { CLUSTER_TEMPLATE, clusterValues } from './cluster-template.js';
import { GoTemplateReference, goTemplateMissing } from './go-template.js';
import { log } from './harness.js';
import { report } from './report.js';
import { RENDERS } from './template-render-worker.js';

const BENCH = 'template-render';
const ROUNDS = 5;

function runWorker(): Promise<{ parseExecute: number; executeParsed: number }> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./template-render-worker.js', import.meta.url));
    const child = spawn(process.execPath, [script, '--worker'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`${BENCH}: the measuring process exited with ${code}`));
    });
  });
}

async function goRate(): Promise<{ rate: number; output: Buffer }> {
  const ref = await GoTemplateReference.start();
  try {
    const values = clusterValues();
    const warm = await ref.render(CLUSTER_TEMPLATE, values, RENDERS);
    if (warm.error !== undefined) throw new Error(`${BENCH}: Go fails to render the template: ${warm.error}`);
    const timed = await ref.render(CLUSTER_TEMPLATE, values, RENDERS);
    return { rate: RENDERS / (timed.nanos / 1e9), output: timed.output as Buffer };
  } finally {
    ref.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<void> {
  const missing = goTemplateMissing();
  if (missing) throw new Error(`${BENCH}: needs the Go reference: ${missing}`);
  const lines = CLUSTER_TEMPLATE.split('\n').length;
  const params = Object.keys(clusterValues()).length;
  // The same bytes first: a fast wrong renderer is no result.
  const { output } = await goRate();
  const ours = Buffer.from(Template.parse(CLUSTER_TEMPLATE).executeBytes(clusterValues()));
  if (!ours.equals(output)) throw new Error(`${BENCH}: our output differs from Go's for the bench template`);
  log(`${BENCH}: ${lines} lines, ${params} parameters, ${output.length} bytes of output`);

  const go: number[] = [];
  const parseExecute: number[] = [];
  const executeParsed: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    go.push((await goRate()).rate);
    const mine = await runWorker();
    parseExecute.push(mine.parseExecute);
    executeParsed.push(mine.executeParsed);
    log(
      `${BENCH}: round ${round + 1}: go ${go.at(-1)?.toFixed(0)}/s, ours parse+execute ${mine.parseExecute.toFixed(0)}/s, execute ${mine.executeParsed.toFixed(0)}/s`,
    );
  }
  const baseline = median(go);
  report({ bench: BENCH, metric: 'parse_execute', value: median(parseExecute), unit: 'renders/s', baseline });
  report({
    bench: BENCH,
    metric: 'execute_parsed',
    value: median(executeParsed),
    unit: 'renders/s',
    baseline,
  });
}
