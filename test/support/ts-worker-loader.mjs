// Lets Node load the TypeScript sources itself, for the worker threads the code under test starts
// (gateway/manifest-pool.ts): vitest compiles what the tests import, but a worker thread loads
// its module with Node. vitest.config.ts passes this file to every test process with --import;
// worker threads inherit it.
import { register } from 'node:module';

register('./ts-worker-hooks.mjs', import.meta.url);
