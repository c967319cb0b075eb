// Many idle agents in one process, speaking the real protocol to one gateway (for agents-idle).
//   node dist/bench/agent-load.js <gateway url> <admin token> <count> <concurrency>
// 1. Creates <count> clusters and one enrollment token each through the API and a fresh Ed25519
//    key per agent; prints `prepared <n> <ms>`.
// 2. Waits for the line `connect` on stdin, then connects every agent (bench/load-agents.ts:
//    handshake, mux session, control stream, status, heartbeats every 10 s).
//    Prints `connected <n>` every 100 and `done <connected> <ms> <refused_503> <other_failures>`.
// 3. Holds the sessions until SIGTERM or stdin closes.
import { commands, connectAll, prepare } from './load-agents.js';

const [api, token, countText, concurrencyText] = process.argv.slice(2) as [string, string, string, string];

const planned = await prepare(api, token, Number(countText));
const next = commands();
await next('connect');
await connectAll(api, planned, Number(concurrencyText));
