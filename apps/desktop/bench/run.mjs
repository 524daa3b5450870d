// Benchmark for @kitbox/desktop against its peer (anchor: 2 s start, under 1 % idle CPU), run by `npm run bench -w @kitbox/desktop`.
// The figures (start to docker version, idle CPU) need the VM of issue #6.
console.log('@kitbox/desktop: no benchmark yet. The figures (start to docker version, idle CPU) need the VM of issue #6.');
console.log('Nothing was measured; see BENCHMARKS.md for what will be.');
