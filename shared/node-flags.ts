// The V8 settings every Commander process starts with. V8 reads them only when a process starts,
// so every way of starting one passes them: the CLI's shebang, `npm start`, the image's
// ENTRYPOINT, and the launchers of the tests and benchmarks (test/shared/node-flags.test.ts holds
// the first three to this list).
//
// A tunnel's bytes pass through each process in freshly allocated buffers, and at hundreds of
// MB/s V8 collects the young generation every few milliseconds to free them ("external memory
// pressure"). In the gateway and `commander tunnel`, whose old generation (about 25 MB live) had a
// limit only a few MB above it, most of those collections also started an incremental full one:
// 45-90 per run of `npm run bench tunnel-throughput`, 3 s of background marking each run on the
// gateway alone, which the tunnel's other processes needed. With the old generation's limit at
// least 64 MiB, a run has 0-1 of them and the tunnel carries a quarter to a third more (ws://, the
// same fresh-process runs beside three plain relays). An idle process is unaffected; one that
// holds more than 64 MiB collects as before. (The 64 MiB semi-space tried before this made the
// full collections more frequent, not less, and is gone.)
export const NODE_FLAGS = ['--initial-old-space-size=64'];
