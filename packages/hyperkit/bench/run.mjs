// Benchmark for @kitbox/hyperkit, run by `npm run bench -w @kitbox/hyperkit` (after the build).
// Boots Debian's kernel with a busybox initramfs under hyperkit and under QEMU
// (-M microvm -accel kvm) with the same kernel, initramfs and command line, on real KVM.
// These machines' own /dev/kvm only emulates, so both run in the nested sandbox
// (tools/nested/run), where the numbers are nested-virtualization numbers: compare the
// ratio, not the absolute times, with hardware KVM.
import { execFileSync, spawnSync } from 'node:child_process';

const root = new URL('../../../', import.meta.url).pathname;
const sh = (args) => execFileSync('bash', args, { cwd: root, encoding: 'utf8' }).trim();
const kernel = `${sh(['tools/kernel/fetch'])}/vmlinuz`;
const initrd = sh(['tools/nested/initramfs', 'bench-guest', 'tools/nested/bench-guest-init']);
console.log(`@kitbox/hyperkit boot benchmark, ${new Date().toISOString().slice(0, 10)}, kernel ${kernel.split('/').at(-2)}, nested KVM (QEMU TCG L1)`);
const r = spawnSync('bash', ['tools/nested/run', '--timeout', '900', '--', process.execPath, 'packages/hyperkit/bench/compare.mjs', '--kernel', kernel, '--initrd', initrd], {
  cwd: root,
  encoding: 'utf8',
});
const table = r.stdout.split('\n').filter((l) => l.startsWith('|'));
console.log(table.length ? table.join('\n') : `${r.stdout}\n${r.stderr}`);
process.exit(r.status ?? 1);
