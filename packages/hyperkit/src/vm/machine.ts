/**
 * `createVm`: the library's front door. Boots a Linux bzImage or ELF vmlinux directly (no firmware) on
 * KVM with the devices a minimal guest needs, one worker thread per vCPU.
 *
 * SMP: an MP table (in the EBDA) lists the vCPUs and the I/O APIC; the application
 * processors wait in KVM for the INIT/SIPI Linux sends them.
 *
 * Devices today: COM1 (16550 UART, IRQ 4), the CMOS RTC and the i8042 (with its reset line), with the in-kernel
 * PIC/IOAPIC/LAPIC and PIT; ACPI tables with the PM1 registers, so that the guest can power
 * off; a PCI host bridge and virtio-pci devices. The guest stops the VM by powering off
 * (ACPI S5: `poweroff`), by resetting (`reboot=k`, or `panic=-1` on a panic) or by a triple
 * fault.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { type HideableFeature } from '../arch/x86_64/cpuid.js';
import { ACPI_PM1_CNT_LEN, ACPI_PM1_CNT_PORT, ACPI_PM1_EVT_LEN, ACPI_PM1_EVT_PORT, ACPI_S5_SLP_TYP, writeAcpiTables } from '../arch/x86_64/acpi.js';
import { KVM_IDENTITY_MAP_START, KVM_TSS_START, MMIO_GAP_END, MMIO_GAP_START, PCI_MMIO_WINDOW_SIZE, ZERO_PAGE_START } from '../arch/x86_64/layout.js';
import { MPTABLE_MAX_CPUS, writeMptable } from '../arch/x86_64/mptable.js';
import { configureVcpu } from '../arch/x86_64/vcpu-setup.js';
import { Bus } from '../devices/bus.js';
import { AcpiPmControl, AcpiPmEvent } from '../devices/legacy/acpi-pm.js';
import { Cmos } from '../devices/legacy/cmos.js';
import { I8042 } from '../devices/legacy/i8042.js';
import { Uart16550 } from '../devices/legacy/uart16550.js';
import { PciMmioWindow } from '../devices/pci/mmio-window.js';
import { PCI_CONFIG_PORT, PCI_CONFIG_PORTS, PciRoot } from '../devices/pci/root.js';
import { VirtioBlock } from '../devices/virtio/blk/blk.js';
import { VirtioConsole } from '../devices/virtio/console/console.js';
import { VirtioPciTransport, type VirtioDevice } from '../devices/virtio/pci.js';
import { VirtioRng } from '../devices/virtio/rng/rng.js';
import { HyperkitError } from '../errors.js';
import { KvmCap } from '../kvm/ioctls.js';
import { Kvm } from '../kvm/kvm.js';
import { Vm } from '../kvm/vm.js';
import { BP } from '../loader/boot-params.js';
import { loadBzImage } from '../loader/bzimage.js';
import { isElf, loadElf } from '../loader/elf.js';
import type { ExitAction } from '../vcpu/handle.js';
import { VcpuThread } from '../vcpu/thread.js';

export interface VmConfig {
  /** Guest RAM in MiB (16 .. 1 TiB). */
  memoryMiB: number;
  /** vCPUs (1 .. 254, and no more than KVM allows); each runs on its own thread. */
  cpus?: number;
  /** A bzImage or an uncompressed ELF vmlinux (told apart by their magic), as bytes or a path. */
  kernel: Uint8Array | string;
  initrd?: Uint8Array | string;
  cmdline?: string;
  /** Receives what the guest writes to COM1. */
  serial?: (data: Uint8Array) => void;
  /** CPU features the guest must not see (e.g. `xsave` where the host cannot run them). */
  hideCpuFeatures?: readonly HideableFeature[];
  kvmPath?: string;
  /** virtio-pci devices, one per PCI slot from 1 (virtio-rng today). */
  devices?: readonly DeviceConfig[];
  /**
   * ACPI tables (RSDP, XSDT, FADT, FACS, DSDT) and the PM1 registers, so the guest can power
   * off (default true). Without them Linux can only reset the VM.
   */
  acpi?: boolean;
}

/** `slot`: the PCI slot on bus 0 (1-31); by default the next free one from 1, in order. */
export type DeviceConfig = { slot?: number } & (
  | { type: 'rng' }
  | { type: 'block'; path: string; readOnly?: boolean; serial?: string }
  /** /dev/hvc0 in the guest; its output goes to `output` (default: the `serial` sink). */
  | { type: 'console'; output?: (data: Uint8Array) => void }
);

/** The PCI slot of each device: the one it asks for, else the next free one from 1. */
export function assignSlots(devices: readonly DeviceConfig[]): number[] {
  const taken = new Set<number>();
  for (const d of devices) {
    if (d.slot === undefined) continue;
    if (!Number.isInteger(d.slot) || d.slot < 1 || d.slot > 31) throw new HyperkitError('CONFIG', `PCI slot ${d.slot} is not in 1-31`);
    if (taken.has(d.slot)) throw new HyperkitError('CONFIG', `PCI slot ${d.slot} is given to two devices`);
    taken.add(d.slot);
  }
  let next = 1;
  return devices.map((d) => {
    if (d.slot !== undefined) return d.slot;
    while (taken.has(next)) next++;
    if (next > 31) throw new HyperkitError('CONFIG', 'more than 31 PCI devices');
    taken.add(next);
    return next;
  });
}

export type VmExitReason =
  | { reason: 'poweroff' }
  | { reason: 'reset' }
  | { reason: 'shutdown' }
  | { reason: 'stopped' }
  | { reason: 'error'; message: string };

const COM1_PORT = 0x3f8;
const COM1_IRQ = 4;

async function bytes(src: Uint8Array | string): Promise<Uint8Array> {
  return typeof src === 'string' ? new Uint8Array(await readFile(src)) : src;
}

/** Batches the UART's byte-at-a-time output into chunks, flushed once per event-loop turn. */
function batcher(sink: (data: Uint8Array) => void): { push: (d: Uint8Array) => void; flush: () => void } {
  const buf = new Uint8Array(16384);
  let len = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (len === 0) return;
    sink(buf.slice(0, len));
    len = 0;
  };
  return {
    push(d) {
      if (len + d.length > buf.length) flush();
      buf.set(d, len);
      len += d.length;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export class VirtualMachine extends EventEmitter<{ exit: [VmExitReason] }> {
  readonly #kvm: Kvm;
  readonly #vm: Vm;
  readonly #threads: VcpuThread[];
  readonly #buses: { pio: Bus; mmio: Bus };
  readonly #uart: Uart16550;
  readonly #flushSerial: () => void;
  #requested: VmExitReason | undefined;
  #done: Promise<VmExitReason> | undefined;

  /** Devices' cleanup: awaited before guest memory is unmapped (their I/O writes into it). */
  readonly #closers: readonly (() => Promise<void>)[];

  private constructor(
    kvm: Kvm,
    vm: Vm,
    threads: VcpuThread[],
    buses: { pio: Bus; mmio: Bus },
    uart: Uart16550,
    flush: () => void,
    closers: readonly (() => Promise<void>)[] = [],
  ) {
    super();
    this.#closers = closers;
    this.#kvm = kvm;
    this.#vm = vm;
    this.#threads = threads;
    this.#buses = buses;
    this.#uart = uart;
    this.#flushSerial = flush;
  }

  /** @internal use `createVm` */
  static async create(config: VmConfig): Promise<VirtualMachine> {
    const cpus = config.cpus ?? 1;
    if (!Number.isInteger(config.memoryMiB) || config.memoryMiB < 16 || config.memoryMiB > 1 << 20) {
      throw new HyperkitError('CONFIG', `memoryMiB must be a whole number from 16 to 1048576, got ${config.memoryMiB}`);
    }
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > MPTABLE_MAX_CPUS) {
      throw new HyperkitError('CONFIG', `cpus must be a whole number from 1 to ${MPTABLE_MAX_CPUS}, got ${cpus}`);
    }
    const slots = assignSlots(config.devices ?? []);
    const [image, initrd] = await Promise.all([bytes(config.kernel), config.initrd ? bytes(config.initrd) : undefined]);

    const kvm = Kvm.open(config.kvmPath === undefined ? {} : { path: config.kvmPath });
    let vm: Vm | undefined;
    try {
      const { max } = kvm.vcpuLimits();
      if (cpus > max) throw new HyperkitError('CONFIG', `cpus is ${cpus}, but this KVM allows ${max}`);
      vm = Vm.create(kvm);
      vm.setTssAddr(KVM_TSS_START);
      if (kvm.checkExtension(KvmCap.SET_IDENTITY_MAP_ADDR) > 0) vm.setIdentityMapAddr(KVM_IDENTITY_MAP_START);
      vm.createIrqchip();
      vm.createPit2();
      const ram = config.memoryMiB * 1024 * 1024;
      const low = Math.min(ram, MMIO_GAP_START);
      const regions = [{ gpa: 0, size: low }];
      if (ram > low) regions.push({ gpa: MMIO_GAP_END, size: ram - low });
      const mem = vm.addMemory(regions);
      writeMptable(mem, cpus);
      const boot = { image, cmdline: config.cmdline ?? 'console=ttyS0', ...(initrd ? { initrd } : {}) };
      const kernel = isElf(image) ? loadElf(mem, boot) : loadBzImage(mem, boot);
      const acpi = config.acpi ?? true;
      if (acpi) {
        // boot_params.acpi_rsdp_addr (offset 0x70); Linux would also find it by scanning.
        const rsdp = writeAcpiTables(mem, cpus);
        const zp = mem.slice(ZERO_PAGE_START, 4096);
        new DataView(zp.buffer, zp.byteOffset, zp.byteLength).setBigUint64(BP.ACPI_RSDP_ADDR, BigInt(rsdp), true);
      }

      const out = batcher(config.serial ?? (() => {}));
      const theVm = vm;
      const uart = new Uart16550({ output: out.push, onInterrupt: () => theVm.pulseIrq(COM1_IRQ) });
      const pio = new Bus('pio');
      pio.insert(COM1_PORT, 8, uart, 'com1');
      // The i8042 is wired before the machine object exists; the reset reaches it through here.
      const reset = { to: undefined as VirtualMachine | undefined };
      pio.insert(0x60, 5, new I8042({ onReset: () => reset.to?.requestExit({ reason: 'reset' }) }), 'i8042');
      pio.insert(0x70, 2, new Cmos(), 'cmos');
      if (acpi) {
        pio.insert(ACPI_PM1_EVT_PORT, ACPI_PM1_EVT_LEN, new AcpiPmEvent(), 'acpi-pm1-evt');
        const onPowerOff = (): void => reset.to?.requestExit({ reason: 'poweroff' });
        pio.insert(ACPI_PM1_CNT_PORT, ACPI_PM1_CNT_LEN, new AcpiPmControl({ s5SleepType: ACPI_S5_SLP_TYP, onPowerOff }), 'acpi-pm1-cnt');
      }
      // PCI bus 0 (configuration mechanism #1) with its host bridge; virtio devices join it,
      // their BAR0 in the MMIO gap (pre-assigned, movable by the guest), MSIs through KVM.
      const pciRoot = new PciRoot();
      pio.insert(PCI_CONFIG_PORT, PCI_CONFIG_PORTS, pciRoot, 'pci');
      const mmio = new Bus('mmio');
      const window = new PciMmioWindow(MMIO_GAP_START);
      mmio.insert(MMIO_GAP_START, PCI_MMIO_WINDOW_SIZE, window, 'pci-mmio');
      const msi = { msi: (lo: number, hi: number, data: number) => theVm.signalMsi(lo, hi, data) };
      const closers: (() => Promise<void>)[] = [];
      for (const [i, d] of (config.devices ?? []).entries()) {
        const slot = slots[i] as number;
        let dev: VirtioDevice;
        if (d.type === 'rng') dev = new VirtioRng();
        else if (d.type === 'console') dev = new VirtioConsole(d.output ?? out.push);
        else if (d.type === 'block') {
          const b = await VirtioBlock.open(d);
          closers.push(() => b.close());
          dev = b;
        } else throw new HyperkitError('DEVICE', `unknown device type ${JSON.stringify((d as { type: unknown }).type)}`);
        const t = new VirtioPciTransport(dev, mem, msi);
        t.config.write(0x10, 4, MMIO_GAP_START + slot * 0x10000);
        pciRoot.add(slot, t);
        window.add(t);
      }
      const buses = { pio, mmio };

      const threads: VcpuThread[] = [];
      for (let id = 0; id < cpus; id++) {
        const t = await VcpuThread.spawn(vm, id, kvm.vcpuMmapSize());
        threads.push(t);
        configureVcpu(kvm, t.vcpu, mem, {
          vcpuId: id,
          vcpuCount: cpus,
          entry: kernel.entry,
          irqchip: true,
          ...(config.hideCpuFeatures ? { hideCpuFeatures: config.hideCpuFeatures } : {}),
        });
      }
      reset.to = new VirtualMachine(kvm, vm, threads, buses, uart, out.flush, closers);
      return reset.to;
    } catch (err) {
      vm?.close();
      kvm.close();
      throw err;
    }
  }

  /** Starts the vCPUs; resolves at once. `wait()` tells how the VM ended. */
  start(): void {
    if (this.#done) throw new HyperkitError('STARTED', 'the VM was already started');
    this.#done = this.#run();
  }

  async #run(): Promise<VmExitReason> {
    const results = await Promise.all(
      this.#threads.map((t) =>
        t.start(this.#buses).then((a) => {
          if (a.action !== 'stopped') this.requestExit(toReason(a));
          return a;
        }),
      ),
    );
    this.#flushSerial();
    const reason = this.#requested ?? toReason(results[0] ?? { action: 'stopped' });
    await Promise.all(this.#closers.map((c) => c().catch(() => undefined)));
    this.#vm.close();
    this.#kvm.close();
    this.emit('exit', reason);
    return reason;
  }

  /** @internal devices and vCPUs end the VM through here */
  requestExit(reason: VmExitReason): void {
    if (this.#requested) return;
    this.#requested = reason;
    for (const t of this.#threads) t.stop();
  }

  /** Sends bytes to COM1's input; returns how many were taken. */
  serialInput(data: Uint8Array): number {
    return this.#uart.input(data);
  }

  wait(): Promise<VmExitReason> {
    if (!this.#done) throw new HyperkitError('NOT_STARTED', 'the VM has not been started');
    return this.#done;
  }

  /** Stops the VM from outside and waits for it to end. */
  async stop(): Promise<VmExitReason> {
    this.requestExit({ reason: 'stopped' });
    if (!this.#done) {
      for (const t of this.#threads) await t.close();
      await Promise.all(this.#closers.map((c) => c().catch(() => undefined)));
      this.#vm.close();
      this.#kvm.close();
      return { reason: 'stopped' };
    }
    return this.#done;
  }
}

function toReason(a: ExitAction): VmExitReason {
  switch (a.action) {
    case 'shutdown':
      return { reason: 'shutdown' };
    case 'error':
      return { reason: 'error', message: a.message };
    case 'halt':
    case 'stopped':
    case 'continue':
    case 'system-event':
      return { reason: 'stopped' };
  }
}

/**
 * Creates a VM ready to boot `kernel`.
 *
 * @example
 * const vm = await createVm({ memoryMiB: 512, kernel: 'vmlinuz', initrd: 'initrd.img',
 *   cmdline: 'console=ttyS0 reboot=k panic=-1', serial: (d) => process.stdout.write(d) });
 * vm.start();
 * console.log(await vm.wait()); // { reason: 'poweroff' } after `poweroff`, 'reset' after `reboot`
 */
export function createVm(config: VmConfig): Promise<VirtualMachine> {
  return VirtualMachine.create(config);
}
