// Benchmark for @kitbox/vpnkit against its peer (slirp4netns and pasta), run by `npm run bench -w @kitbox/vpnkit`.
// The figures (TCP throughput, connections/s, latency) need the TCP/NAT path of issue #4.
console.log('@kitbox/vpnkit: no benchmark yet. The figures (TCP throughput, connections/s, latency) need the TCP/NAT path of issue #4.');
console.log('Nothing was measured; see BENCHMARKS.md for what will be.');
