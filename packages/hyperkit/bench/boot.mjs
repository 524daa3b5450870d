// Boots a Linux kernel with hyperkit and reports how long each stage took.
//   node bench/boot.mjs --kernel VMLINUZ --initrd INITRD [--memory MIB] [--cmdline "..."]
// The guest's /init is expected to print KITBOX-GUEST-UP, then power off or reset
// (tools/nested/guest-init, virtio-guest-init).
// Prints the guest's serial output, then one JSON line: {"initMs":..., "totalMs":..., "exit":...}.
import { parseArgs } from 'node:util';
import { createVm } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    kernel: { type: 'string' },
    initrd: { type: 'string' },
    memory: { type: 'string', default: '256' },
    cpus: { type: 'string', default: '1' },
    // tsc=reliable, no_timer_check and lpj skip calibration loops that cost thousands of VM
    // exits (15 s instead of 43 s to /init in the nested sandbox). PCI: bus 0 via mechanism #1;
    // pci=noearly: on an AMD CPU the kernel's early GART/aperture search reads the configuration
    // of every bus, slot and function twice (~130,000 port exits, 19 s here) before the PCI
    // subsystem even starts; the normal scan later finds the devices.
    cmdline: { type: 'string', default: 'console=ttyS0 reboot=k panic=-1 loglevel=4 pci=noearly tsc=reliable no_timer_check lpj=1000000' },
    timeout: { type: 'string', default: '120' },
    // Comma-separated virtio devices, e.g. --devices rng.
    devices: { type: 'string', default: '' },
  },
});
if (!values.kernel || !values.initrd) {
  console.error('usage: node bench/boot.mjs --kernel VMLINUZ --initrd INITRD [--memory MIB] [--cpus N] [--cmdline ...]');
  process.exit(2);
}
const t0 = performance.now();
let initMs;
let poweroffMs;
let text = '';
const vm = await createVm({
  memoryMiB: Number(values.memory),
  cpus: Number(values.cpus),
  kernel: values.kernel,
  initrd: values.initrd,
  cmdline: values.cmdline,
  // rng | block:PATH | console
  devices: values.devices ? values.devices.split(',').map((d) => (d.startsWith('block:') ? { type: 'block', path: d.slice(6) } : { type: d })) : [],
  serial: (d) => {
    process.stdout.write(d);
    text += Buffer.from(d).toString('latin1');
    if (initMs === undefined && text.includes('KITBOX-GUEST-UP')) initMs = performance.now() - t0;
  },
});
const createdMs = performance.now() - t0;
vm.start();
const timer = setTimeout(() => vm.stop(), Number(values.timeout) * 1000);
const exit = await vm.wait();
clearTimeout(timer);
if (exit.reason === 'poweroff') poweroffMs = performance.now() - t0;
const totalMs = performance.now() - t0;
const rss = process.memoryUsage().rss;
console.log(`\n${JSON.stringify({ createdMs: Math.round(createdMs), initMs: initMs && Math.round(initMs), poweroffMs: poweroffMs && Math.round(poweroffMs), totalMs: Math.round(totalMs), exit, rssMiB: Math.round(rss / 2 ** 20) })}`);
process.exit((exit.reason === 'reset' || exit.reason === 'poweroff') && initMs !== undefined ? 0 : 1);
