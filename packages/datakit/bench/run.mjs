// Benchmark for @kitbox/datakit against its peer (the git CLI), run by `npm run bench -w @kitbox/datakit`.
// The figures (commits/s through transactions, watch latency) need the filesystem of issue #7.
console.log('@kitbox/datakit: no benchmark yet. The figures (commits/s through transactions, watch latency) need the filesystem of issue #7.');
console.log('Nothing was measured; see BENCHMARKS.md for what will be.');
