// The V8 settings every Commander process starts with. V8 reads them only when a process starts,
// so every way of starting one passes them: the CLI's shebang, `npm start`, the image's
// ENTRYPOINT, and the launchers of the tests and benchmarks (test/shared/node-flags.test.ts holds
// the first three to this list).
//
// A tunnel's bytes pass through each process in buffers that live until the next hop took them.
// With V8's default young generation (16 MiB semi-spaces), at hundreds of MB/s many outlive two
// scavenges and are promoted, to be collected by full mark-compacts: the gateway spent 29% of its
// CPU in the garbage collector (24% with 64 MiB). Over the same fresh-process runs of
// `npm run bench tunnel-throughput`, a tunnel's upload over ws:// went from a median 0.63× to
// 0.84× `ssh -L` (nine runs each); downloads and wss:// moved less. The space grows to that size
// only under such load; an idle process keeps the small default.
export const NODE_FLAGS = ['--max-semi-space-size=64'];
