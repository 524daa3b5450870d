/**
 * `QemuDriver`: runs the VM with qemu-system-x86_64. KVM where /dev/kvm runs guests
 * natively (the CPU advertises VMX or SVM), TCG where it does not (these development
 * machines' /dev/kvm only emulates). The NIC is a virtio-net on QEMU's stream netdev,
 * connected to the in-process vpnkit's QEMU link on a private Unix socket; the console is
 * the first serial port on QEMU's stdio; the root disk is used read-only (snapshot), the
 * data disk read-write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QemuStreamServer } from '@kitbox/vpnkit';
import type { VmDriver, VmSpec } from './driver.js';

export type Accel = 'kvm' | 'tcg';

/** KVM only when the host CPU can run guests natively (an emulating /dev/kvm is no help). */
export function detectAccel(cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''): Accel {
  return existsSync('/dev/kvm') && /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo) ? 'kvm' : 'tcg';
}

/**
 * vCPUs QEMU is given. Under TCG, one: with two, starting a container livelocked both guest
 * CPUs in runc (soft lockups of 180 s and more, 2026-11-28, this machine); with one,
 * `docker run` answers in about 5 s.
 */
export function effectiveCpus(spec: VmSpec, accel: Accel): number {
  return accel === 'tcg' ? 1 : spec.cpus;
}

export function qemuArgs(spec: VmSpec, accel: Accel, netSocket: string): string[] {
  return [
    '-accel', accel,
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-smp', String(effectiveCpus(spec, accel)),
    '-m', String(spec.memoryMiB),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-serial', 'stdio', '-monitor', 'none',
    '-kernel', spec.image.kernel,
    '-initrd', spec.image.initrd,
    '-append', `console=ttyS0 quiet panic=-1 ${spec.cmdline ?? ''}`.trim(),
    '-drive', `file=${spec.image.rootDisk},format=raw,if=virtio,snapshot=on`,
    '-drive', `file=${spec.dataDisk},format=qcow2,if=virtio,discard=unmap`,
    '-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${netSocket}`,
    '-device', 'virtio-net-pci,netdev=n0',
  ];
}

export class QemuDriver implements VmDriver {
  readonly name = 'qemu';
  readonly accel: Accel;
  readonly #runDir: string;
  #child: ChildProcess | undefined;
  #server: QemuStreamServer | undefined;
  #exited: Promise<{ code: number | null; signal: string | null }> | undefined;
  readonly #listeners: ((line: string) => void)[] = [];

  constructor({ runDir, accel = detectAccel() }: { runDir: string; accel?: Accel }) {
    this.#runDir = runDir;
    this.accel = accel;
  }

  onConsoleLine(fn: (line: string) => void): void {
    this.#listeners.push(fn);
  }

  async start(spec: VmSpec): Promise<void> {
    const sock = join(this.#runDir, 'vm-net.sock');
    this.#server = new QemuStreamServer((link) => spec.network.attach(link));
    await this.#server.listen(sock);
    const child = spawn('qemu-system-x86_64', qemuArgs(spec, this.accel, sock), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let partial = '';
    const onData = (d: Buffer): void => {
      const lines = (partial + d.toString('utf8')).split(/\r?\n/);
      partial = lines.pop() ?? '';
      if (partial.length > 65536) partial = partial.slice(-65536); // a guest that never ends a line
      for (const line of lines) for (const fn of this.#listeners) fn(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`cannot start qemu-system-x86_64: ${err.message}`)));
    });
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exited) return;
    // The console runs a root shell (busybox init respawns it on ttyS0): ask the agent to
    // stop dockerd cleanly and power off.
    child.stdin?.write('\n/usr/local/sbin/kitbox-agent stop; busybox poweroff -f\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
    await this.#server?.close();
  }

  setClock(epochSeconds: number): void {
    const s = Math.floor(epochSeconds);
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`not a time: ${epochSeconds}`);
    // Through the console's root shell, like stop (the agent logs the result there).
    this.#child?.stdin?.write(`\n/usr/local/sbin/kitbox-agent clock ${s}\n`);
  }

  exited(): Promise<{ code: number | null; signal: string | null }> {
    if (!this.#exited) throw new Error('the VM was not started');
    return this.#exited;
  }
}
