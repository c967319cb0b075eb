// The V8 settings every Commander process starts with. V8 reads them only when a process starts,
// so every way of starting one passes them: the CLI's shebang, `npm start`, the image's
// ENTRYPOINT, and the launchers of the tests and benchmarks (test/shared/node-flags.test.ts holds
// the first three to this list).
//
// A tunnel's bytes pass through each process in buffers that live until the next hop took them,
// and at hundreds of MB/s the gateway spent 29% of its CPU in the garbage collector. With 64 MiB
// semi-spaces instead of V8's default 16 MiB, fewer of those buffers are promoted: over the same
// fresh-process runs of `npm run bench tunnel-throughput`, a tunnel's upload over ws:// went from
// a median 0.63× to 0.84× `ssh -L` (nine runs each); downloads and wss:// moved less. The gateway
// still runs dozens of full collections per run, apparently started by its external memory:
// the next thing to cut. The space grows to that size only under such load; an idle process
// keeps the small default.
export const NODE_FLAGS = ['--max-semi-space-size=64'];
