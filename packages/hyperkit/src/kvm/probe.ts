/**
 * A self-test that proves the whole path works on this host: open KVM, create a VM with
 * guest RAM, load a 12-byte real-mode guest, run it on a vCPU, serve its port I/O from a
 * bus, and see it halt. Used by `kitbox diagnose` and the tests.
 */
import { Bus } from '../devices/bus.js';
import { HyperkitError } from '../errors.js';
import { handleExit, type ExitAction } from '../vcpu/handle.js';
import { Kvm } from './kvm.js';
import { Vm } from './vm.js';

/**
 * At 0x1000, 16-bit real mode (the LWN "Using the KVM API" guest):
 *   ba f8 03  mov dx, 0x3f8 | 00 d8  add al, bl | 04 30  add al, '0'
 *   ee        out dx, al    | b0 0a  mov al, 10 | ee     out dx, al   | f4  hlt
 */
const PROBE_GUEST = new Uint8Array([0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, 0x30, 0xee, 0xb0, 0x0a, 0xee, 0xf4]);

export interface ProbeResult {
  /** What the guest wrote to port 0x3f8: `${a + b}\n`. */
  output: string;
  /** VM exits taken (two port writes and the halt: 3). */
  exits: number;
  /** Milliseconds from KVM_CREATE_VM to the halt. */
  ms: number;
}

export function runProbeGuest({ path, a = 2, b = 3 }: { path?: string; a?: number; b?: number } = {}): ProbeResult {
  if (a + b > 9 || a < 0 || b < 0) throw new RangeError('the probe guest prints one digit: a + b must be 0..9');
  const kvm = Kvm.open(path === undefined ? {} : { path });
  const t0 = performance.now();
  const vm = Vm.create(kvm);
  try {
    vm.addMemory([{ gpa: 0, size: 0x10000 }]).write(0x1000, PROBE_GUEST);
    const vcpu = vm.createVcpu();
    const sregs = vcpu.getSregs();
    sregs.cs.base = 0n;
    sregs.cs.selector = 0;
    vcpu.setSregs(sregs);
    vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rax: BigInt(a), rbx: BigInt(b), rflags: 0x2n });
    const out: number[] = [];
    const pio = new Bus('pio');
    pio.insert(0x3f8, 8, { read: (_o, d) => d.fill(0), write: (o, d) => (o === 0 ? out.push(...d) : 0) }, 'com1');
    const buses = { pio, mmio: new Bus('mmio') };
    let action: ExitAction = { action: 'continue' };
    let exits = 0;
    while (action.action === 'continue' && exits < 16) {
      action = handleExit(vcpu.run(), buses);
      exits++;
    }
    if (action.action !== 'halt') {
      throw new HyperkitError('PROBE', `probe guest stopped with ${JSON.stringify(action)} after ${exits} exits`);
    }
    return { output: String.fromCharCode(...out), exits, ms: performance.now() - t0 };
  } finally {
    vm.close();
    kvm.close();
  }
}
