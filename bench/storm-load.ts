// Many agents in one process that stay connected (for reconnect-storm): each speaks the real
// protocol (bench/load-agents.ts) and, when its session ends, dials again as the agent does
// (agent/backoff.ts: jittered exponential backoff, a 503's Retry-After as a floor).
//   node dist/bench/storm-load.js <api> <admin token> <count> <concurrency> <gateway url>...
// 1. prepare(): clusters, enrollment tokens and keys through <api>; prints `prepared <n> <ms>`.
// 2. On `connect` (stdin): agent i enrolls through gateway url i mod k, <concurrency> at a time;
//    prints `done <connected> <ms> <refused_503> <other_failures>`.
// 3. Then keeps them connected. An agent whose session ends tries the next gateway url (as a
//    client of a DNS name with several addresses would), with the agent's backoff. Prints
//    `lost <wall ms>` at the first loss and `all <wall ms> <refused_503> <other_failures>` each
//    time every agent is connected again after losses.
import { Backoff } from '../agent/backoff.js';
import { commands, connectOnce, type Planned, pool, prepare, Refused, wallMs } from './load-agents.js';

const [api, token, countText, concurrencyText, ...gateways] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  ...string[],
];
const wsBases = gateways.map((url) => url.replace(/^http/, 'ws'));

const planned = await prepare(api, token, Number(countText));
const next = commands();
await next('connect');

let open = 0;
let refused = 0;
let failures = 0;
let lossSeen = false;
/** Distinct failure messages shown on stderr (the first few). */
const reasons = new Set<string>();

/** Keeps one agent connected from its first welcome on; `first` resolves after that welcome. */
function keep(agent: Planned): Promise<void> {
  const backoff = new Backoff();
  let which = agent.index % wsBases.length;
  let enrolled = false;
  return new Promise((first) => {
    const attempt = async (): Promise<void> => {
      for (;;) {
        let retryAfter: number | undefined;
        try {
          const session = await connectOnce(wsBases[which] as string, agent, () => {}, !enrolled);
          enrolled = true;
          backoff.reset();
          open += 1;
          first();
          if (lossSeen && open === planned.length)
            process.stdout.write(`all ${Math.round(wallMs())} ${refused} ${failures}\n`);
          session.on('close', () => {
            open -= 1;
            if (!lossSeen) {
              lossSeen = true;
              process.stdout.write(`lost ${Math.round(wallMs())}\n`);
            }
            which = (which + 1) % wsBases.length;
            // The agent waits a backoff after any close; its counter was reset by the welcome.
            setTimeout(() => void attempt(), backoff.next());
          });
          return;
        } catch (error) {
          if (error instanceof Refused) {
            refused += 1;
            retryAfter = error.retryAfterMs;
          } else {
            failures += 1;
            const message = (error as Error).message.slice(0, 200);
            if (reasons.size < 10 && !reasons.has(message)) {
              reasons.add(message);
              process.stderr.write(`load: ${agent.clusterId}: ${message}\n`);
            }
            which = (which + 1) % wsBases.length;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, backoff.next(retryAfter)));
      }
    };
    void attempt();
  });
}

const started = performance.now();
await pool(planned, Number(concurrencyText), keep);
process.stdout.write(`done ${open} ${Math.round(performance.now() - started)} ${refused} ${failures}\n`);
