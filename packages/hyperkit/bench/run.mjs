// Benchmark for @kitbox/hyperkit against its peer (QEMU -M microvm, same kernel, on real KVM), run by `npm run bench -w @kitbox/hyperkit`.
// The figures (start to guest init, VMM memory overhead) need the VM boot of issue #5.
console.log('@kitbox/hyperkit: no benchmark yet. The figures (start to guest init, VMM memory overhead) need the VM boot of issue #5.');
console.log('Nothing was measured; see BENCHMARKS.md for what will be.');
