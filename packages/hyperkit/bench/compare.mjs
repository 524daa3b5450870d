// Runs where a real KVM exists (the nested sandbox: see bench/run.mjs): boots the same
// kernel and initramfs with hyperkit and with QEMU (-M microvm -accel kvm), each to the
// guest's KITBOX-GUEST-UP marker and then to the VMM's exit after the guest powers off
// (tools/nested/bench-guest-init), and prints a table with ratios (above 1: hyperkit ahead).
//   node bench/compare.mjs --kernel VMLINUZ --initrd INITRD [--runs N]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { kernel: { type: 'string' }, initrd: { type: 'string' }, runs: { type: 'string', default: '3' } },
});
const cmdline = 'console=ttyS0 reboot=k panic=-1 loglevel=4 pci=off tsc=reliable no_timer_check lpj=1000000';
const here = new URL('.', import.meta.url).pathname;

/**
 * Runs a VMM until it exits after the guest powered off; resolves with the ms to the guest's
 * marker, the VMM's peak RSS (VmHWM) at that moment, and the ms to the VMM's exit.
 */
function timed(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let text = '';
    let result;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => {
      text += d.toString('latin1');
      if (result === undefined && text.includes('KITBOX-GUEST-UP')) {
        const initMs = performance.now() - t0;
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        result = { initMs, rssKiB: Number(hwm) };
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result === undefined || signal) reject(new Error(`${cmd}: no marker or killed (${signal})\n${text.slice(-2000)}`));
      else {
        // boot.mjs's own summary: the library's time from createVm() to the marker.
        const summary = /\{"createdMs".*\}/.exec(text)?.[0];
        resolve({ ...result, exitMs: performance.now() - t0, libInitMs: summary ? JSON.parse(summary).initMs : undefined });
      }
    });
  });
}

const rows = { hyperkit: [], qemu: [] };
for (let i = 0; i < Number(values.runs); i++) {
  rows.hyperkit.push(await timed(process.execPath, [`${here}boot.mjs`, '--kernel', values.kernel, '--initrd', values.initrd, '--cmdline', cmdline]));
  rows.qemu.push(await timed('qemu-system-x86_64', [
    '-M', 'microvm', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config',
    '-nographic', '-no-reboot', '-serial', 'stdio', '-kernel', values.kernel, '-initrd', values.initrd, '-append', `${cmdline} earlyprintk=ttyS0`,
  ]));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sum = (rs) => ({ init: median(rs.map((r) => r.initMs)), exit: median(rs.map((r) => r.exitMs)), rss: median(rs.map((r) => r.rssKiB)) });
const h = sum(rows.hyperkit);
const q = sum(rows.qemu);
console.log(`| figure (median of ${values.runs}) | hyperkit | QEMU microvm | QEMU / hyperkit |`);
console.log('| --- | ---: | ---: | ---: |');
console.log(`| start to guest /init (ms) | ${h.init.toFixed(0)} | ${q.init.toFixed(0)} | ${(q.init / h.init).toFixed(2)} |`);
console.log(`| createVm() to guest /init, process start excluded (ms) | ${median(rows.hyperkit.map((r) => r.libInitMs)).toFixed(0)} | - | - |`);
console.log(`| start to VMM exit after the guest's poweroff (ms) | ${h.exit.toFixed(0)} | ${q.exit.toFixed(0)} | ${(q.exit / h.exit).toFixed(2)} |`);
console.log(`| VMM peak RSS at /init, 256 MiB guest (MiB) | ${(h.rss / 1024).toFixed(0)} | ${(q.rss / 1024).toFixed(0)} | ${(q.rss / h.rss).toFixed(2)} |`);
