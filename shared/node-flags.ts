// The V8 settings every Commander process starts with. V8 reads them only when a process starts,
// so every way of starting one passes them: the CLI's shebang, `npm start`, the image's
// ENTRYPOINT, and the launchers of the tests and benchmarks (test/shared/node-flags.test.ts holds
// the first three to this list).
//
// A tunnel's bytes pass through each process in freshly allocated buffers, and at hundreds of
// MB/s V8 collects the young generation every few milliseconds to free them ("external memory
// pressure"). In the gateway and `commander tunnel` (about 25 MB live in the old generation),
// most of those collections also started an incremental full one, with the old generation at half
// its limit (--trace-incremental-marking: "Start (task)", 24 of 47-63 MB): 41-58 per run of
// `npm run bench tunnel-throughput` in the gateway, and 3 s of background marking that the
// tunnel's other processes needed. With the old generation's limit at least 64 MiB, a run has one
// (the bench reports the count), and the tunnel carries a quarter to a third more over ws:// and
// wss://, in the same fresh-process runs beside three plain relays. An idle process is
// unaffected; one that holds more than 64 MiB collects as before. (The 64 MiB semi-space used
// before had halved those collections against V8's default, without stopping them; it is gone.)
export const NODE_FLAGS = ['--initial-old-space-size=64'];
