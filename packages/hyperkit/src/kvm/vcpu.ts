/**
 * `Vcpu`: one virtual CPU of a `Vm`: its registers and its shared `struct kvm_run`.
 * `run()` makes one KVM_RUN and returns the decoded exit; the loop that calls it (and
 * `handleExit`) lives on the vCPU's own thread.
 */
import { HyperkitError } from '../errors.js';
import { close, ioctl, ioctlBuffer, MAP_SHARED, mmap, PROT_READ, PROT_WRITE, type Mapping } from '../ffi/libc.js';
import { decodeExit, type VcpuExit } from '../vcpu/exit.js';
import { encodeCpuid2, type CpuidEntry } from '../arch/x86_64/cpuid.js';
import {
  KVM_GET_LAPIC,
  KVM_SET_CPUID2,
  KVM_SET_FPU,
  KVM_SET_LAPIC,
  KVM_SET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_RUN,
  KVM_SET_REGS,
  KVM_SET_SREGS,
} from './ioctls.js';
import {
  decodeRegs,
  decodeSregs,
  encodeRegs,
  encodeSregs,
  KVM_REGS_SIZE,
  KVM_SREGS_SIZE,
  type Regs,
  type Sregs,
} from './structs.js';

export class Vcpu {
  readonly id: number;
  #fd: number;
  readonly #run: Mapping;
  readonly #runView: DataView;
  readonly #scratch = new Uint8Array(KVM_SREGS_SIZE);

  /**
   * @internal Created by `Vm.createVcpu` (which maps the run area) or by a vCPU thread
   * (which maps it on its own thread and passes the mapping in).
   */
  constructor(id: number, fd: number, run: number | Mapping) {
    this.id = id;
    this.#fd = fd;
    if (typeof run === 'number') {
      try {
        run = mmap(run, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      } catch (err) {
        close(fd);
        throw err;
      }
    }
    this.#run = run;
    this.#runView = new DataView(this.#run.buffer);
  }

  /** The shared `struct kvm_run`: exits are decoded from it with `decodeExit`. */
  get runArea(): DataView {
    return this.#runView;
  }

  get fd(): number {
    return this.#fd;
  }

  getRegs(): Regs {
    const buf = this.#scratch.subarray(0, KVM_REGS_SIZE);
    ioctlBuffer(this.#fd, KVM_GET_REGS, buf, 'KVM_GET_REGS');
    return decodeRegs(buf);
  }

  setRegs(regs: Regs): void {
    ioctlBuffer(this.#fd, KVM_SET_REGS, encodeRegs(regs, this.#scratch.subarray(0, KVM_REGS_SIZE)), 'KVM_SET_REGS');
  }

  getSregs(): Sregs {
    ioctlBuffer(this.#fd, KVM_GET_SREGS, this.#scratch, 'KVM_GET_SREGS');
    return decodeSregs(this.#scratch);
  }

  setSregs(sregs: Sregs): void {
    ioctlBuffer(this.#fd, KVM_SET_SREGS, encodeSregs(sregs, this.#scratch), 'KVM_SET_SREGS');
  }

  setCpuid(entries: readonly CpuidEntry[]): void {
    ioctlBuffer(this.#fd, KVM_SET_CPUID2, encodeCpuid2(entries), 'KVM_SET_CPUID2');
  }

  /** Sets model-specific registers; every one must be accepted. */
  setMsrs(msrs: ReadonlyArray<{ index: number; data: bigint }>): void {
    const buf = new Uint8Array(8 + msrs.length * 16);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, msrs.length, true);
    msrs.forEach((m, i) => {
      dv.setUint32(8 + i * 16, m.index, true);
      dv.setBigUint64(8 + i * 16 + 8, m.data, true);
    });
    // KVM_SET_MSRS returns how many it set, stopping at the first it refuses.
    const n = ioctlBuffer(this.#fd, KVM_SET_MSRS, buf, 'KVM_SET_MSRS');
    if (n !== msrs.length) {
      const bad = msrs[n];
      throw new HyperkitError('MSR', `KVM refused MSR 0x${bad?.index.toString(16)} (${n} of ${msrs.length} set)`);
    }
  }

  /** Sets the x87 control word and MXCSR; the rest of `struct kvm_fpu` is zero. */
  setFpu({ fcw, mxcsr }: { fcw: number; mxcsr: number }): void {
    const buf = new Uint8Array(416);
    const dv = new DataView(buf.buffer);
    dv.setUint16(128, fcw, true); // after fpr[8][16]
    dv.setUint32(408, mxcsr, true); // after last_ip, last_dp and xmm[16][16]
    ioctlBuffer(this.#fd, KVM_SET_FPU, buf, 'KVM_SET_FPU');
  }

  /** The LAPIC register page (needs an in-kernel irqchip). */
  getLapic(): Uint8Array {
    const buf = new Uint8Array(0x400);
    ioctlBuffer(this.#fd, KVM_GET_LAPIC, buf, 'KVM_GET_LAPIC');
    return buf;
  }

  setLapic(page: Uint8Array): void {
    ioctlBuffer(this.#fd, KVM_SET_LAPIC, page, 'KVM_SET_LAPIC');
  }

  /**
   * Runs the vCPU until its next exit. An `io-in`/`mmio-read` exit's `data` must be
   * filled before the next call, which completes the guest's instruction.
   */
  run(): VcpuExit {
    ioctl(this.#fd, KVM_RUN, 0, 'KVM_RUN');
    return decodeExit(this.#runView);
  }

  close(): void {
    if (this.#fd < 0) return;
    this.#run.unmap();
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }
}
