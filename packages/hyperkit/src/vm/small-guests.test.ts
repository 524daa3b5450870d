/**
 * Hand-assembled guests on /dev/kvm, one VMM feature each: serial output (string and
 * byte-at-a-time port I/O, through the real 16550 model), MMIO reads and writes of every
 * width, interrupts from the in-kernel PIC, IOAPIC and LAPIC (KVM_IRQ_LINE, KVM_SIGNAL_MSI),
 * and two vCPUs on two threads. Each guest is a few dozen bytes, written out below with the
 * instruction each byte sequence encodes (checked against GNU as/objdump).
 *
 * Guest memory map (2 MiB of RAM from 0):
 *   0x0500  boot GDT (setupLongMode)          0x1000  real-mode code, 0x1100 its message
 *   0x2000  long-mode code                    0x2800  interrupt handler
 *   0x3000  IDT (built by the guest)          0x3ff0  IDTR (written by the guest)
 *   0x4000  data                              0x8ff0  stack (grows down)
 *   0x9000  PML4, 0xa000 PDPT, 0xb000..0xefff PDs: identity map of 4 GiB in 2 MiB pages
 *   0xd000_0000  test MMIO device (in the PCI hole)  0xfec0_0000 IOAPIC, 0xfee0_0000 LAPIC
 */
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KVM_TSS_START } from '../arch/x86_64/layout.js';
import { configureVcpu } from '../arch/x86_64/vcpu-setup.js';
import { Bus, type BusDevice } from '../devices/bus.js';
import { Uart16550 } from '../devices/legacy/uart16550.js';
import { Kvm } from '../kvm/kvm.js';
import { Vm } from '../kvm/vm.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { ExitAction } from '../vcpu/handle.js';
import { VcpuThread } from '../vcpu/thread.js';

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const built = existsSync(new URL('../../dist/vcpu/thread-worker.js', import.meta.url));
if (!hasKvm) console.log('skipping the small-guest tests: no /dev/kvm');
else if (!built) console.log('skipping the small-guest tests: build the package first (nx test builds it)');

const RAM = 2 << 20;
const CODE = 0x2000;
const HANDLER = 0x2800;
const DATA = 0x4000;
const MMIO_BASE = 0xd000_0000;
/** Port the guests write markers to (Bochs' debug port). */
const MARK_PORT = 0xe9;
/** Each guest gets this long; the slow emulating /dev/kvm runs ~4 M instructions/s. */
const GUEST_TIMEOUT_MS = 15_000;

/** Little-endian bytes of a 32-bit immediate. */
const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

let kvm: Kvm;
let vm: Vm;

function memory(): GuestMemory {
  return vm.memory.regions.length ? vm.memory : vm.addMemory([{ gpa: 0, size: RAM }]);
}

/**
 * setupLongMode identity-maps the first GiB; the MMIO device, the IOAPIC and the LAPIC are
 * above 3 GiB, so PDPT entries 1..3 get a page directory each (2 MiB pages, like PD 0).
 */
function mapFourGiB(mem: GuestMemory): void {
  const pdpt = new DataView(mem.slice(0xa000, 4096).buffer, 0xa000, 4096);
  for (let gib = 1; gib < 4; gib++) {
    const pdAddr = 0xb000 + gib * 0x1000;
    pdpt.setBigUint64(gib * 8, BigInt(pdAddr) | 0x03n, true); // present, writable
    const pd = new DataView(mem.slice(pdAddr, 4096).buffer, pdAddr, 4096);
    for (let i = 0; i < 512; i++) pd.setBigUint64(i * 8, (BigInt(gib) << 30n) | (BigInt(i) << 21n) | 0x83n, true); // + PS
  }
}

/** A vCPU on its own thread in 16-bit real mode at 0x1000 (cs = 0). */
async function realModeGuest(code: number[], data: { at: number; bytes: Uint8Array }): Promise<VcpuThread> {
  const mem = memory();
  mem.write(0x1000, Uint8Array.from(code));
  mem.write(data.at, data.bytes);
  const t = await VcpuThread.spawn(vm, 0, kvm.vcpuMmapSize());
  const sregs = t.vcpu.getSregs();
  sregs.cs.base = 0n;
  sregs.cs.selector = 0;
  t.vcpu.setSregs(sregs);
  t.vcpu.setRegs({ ...t.vcpu.getRegs(), rip: 0x1000n, rflags: 0x2n });
  return t;
}

interface LongModeOptions {
  /** Written at CODE (left as it is when absent: another vCPU's). */
  code?: number[];
  handler?: number[];
  irqchip?: boolean;
  id?: number;
  count?: number;
  regs?: { rbx?: bigint; rcx?: bigint; rsi?: bigint; rdi?: bigint };
}

/**
 * A vCPU on its own thread in 64-bit mode at CODE, set up as createVm sets up a kernel's
 * (configureVcpu: CPUID with this vCPU's APIC ID, MSRs, LAPIC LINTs, boot GDT, paging).
 */
async function longModeGuest({ code, handler, irqchip = false, id = 0, count = 1, regs = {} }: LongModeOptions): Promise<VcpuThread> {
  const mem = memory();
  if (code) mem.write(CODE, Uint8Array.from(code));
  if (handler) mem.write(HANDLER, Uint8Array.from(handler));
  const t = await VcpuThread.spawn(vm, id, kvm.vcpuMmapSize());
  configureVcpu(kvm, t.vcpu, mem, { vcpuId: id, vcpuCount: count, entry: CODE, irqchip });
  mapFourGiB(mem);
  t.vcpu.setRegs({ ...t.vcpu.getRegs(), ...regs });
  return t;
}

/** Runs the thread until it stops, or stops it after GUEST_TIMEOUT_MS (the test then fails on what it saw). */
async function run(t: VcpuThread, buses: { pio: Bus; mmio: Bus }): Promise<ExitAction> {
  const timer = setTimeout(() => t.stop(), GUEST_TIMEOUT_MS);
  try {
    return await t.start(buses);
  } finally {
    clearTimeout(timer);
  }
}

/** A port device that records what is written to it, calling `onWrite` for each access. */
function recorder(onWrite: (bytes: Uint8Array) => void = () => {}): { device: BusDevice; writes: number[][] } {
  const writes: number[][] = [];
  return {
    writes,
    device: {
      read: (_o, d) => d.fill(0),
      write: (_o, d) => {
        writes.push([...d]);
        onWrite(d);
      },
    },
  };
}

function buses(): { pio: Bus; mmio: Bus } {
  return { pio: new Bus('pio'), mmio: new Bus('mmio') };
}

describe.skipIf(!hasKvm || !built)('small guests on /dev/kvm', { timeout: GUEST_TIMEOUT_MS + 5000 }, () => {
  beforeEach(() => {
    kvm = Kvm.open();
    vm = Vm.create(kvm);
    vm.setTssAddr(KVM_TSS_START);
  });
  afterEach(() => {
    vm.close();
    kvm.close();
  });

  describe('serial output', () => {
    it('a real-mode guest writes a string with rep outsb; the bytes arrive in order', async () => {
      const message = new TextEncoder().encode('Hello from a real-mode guest!');
      const t = await realModeGuest(
        [
          0xbe, 0x00, 0x11, //                    mov si, 0x1100      ; the message
          0xb9, ...le32(message.length).slice(0, 2), // mov cx, length
          0xba, 0xf8, 0x03, //                    mov dx, 0x3f8       ; COM1
          0xfc, //                                cld
          0xf3, 0x6e, //                          rep outsb           ; string I/O (KVM may pass several bytes per exit)
          0xf4, //                                hlt
        ],
        { at: 0x1100, bytes: message },
      );
      const b = buses();
      const com1 = recorder();
      b.pio.insert(0x3f8, 1, com1.device, 'com1');
      expect(await run(t, b)).toEqual({ action: 'halt' });
      expect(new TextDecoder().decode(Uint8Array.from(com1.writes.flat()))).toBe('Hello from a real-mode guest!');
      expect(com1.writes.every((w) => w.length === 1)).toBe(true);
      console.log(`rep outsb of ${message.length} bytes took ${t.exits} exits`);
    });

    it('a long-mode guest drives the 16550 model like a driver: polls LSR.THRE, writes THR', async () => {
      const message = new TextEncoder().encode('64-bit guest on COM1\r\n');
      memory().write(DATA, message);
      const out: number[] = [];
      const uart = new Uart16550({ output: (d) => out.push(...d) });
      const t = await longModeGuest({
        code: [
          0x66, 0xba, 0xfd, 0x03, //               top:  mov dx, 0x3fd   ; LSR
          0xec, //                                 wait: in al, dx
          0xa8, 0x20, //                                 test al, 0x20   ; THRE: the holding register is empty
          0x74, 0xfb, //                                 jz wait
          0x66, 0xba, 0xf8, 0x03, //                     mov dx, 0x3f8   ; THR
          0xac, //                                       lodsb           ; al = [rsi++]
          0xee, //                                       out dx, al
          0xe2, 0xef, //                                 loop top        ; rcx times
          0xf4, //                                       hlt
        ],
        regs: { rsi: BigInt(DATA), rcx: BigInt(message.length) },
      });
      const b = buses();
      b.pio.insert(0x3f8, 8, uart, 'com1');
      expect(await run(t, b)).toEqual({ action: 'halt' });
      expect(new TextDecoder().decode(Uint8Array.from(out))).toBe('64-bit guest on COM1\r\n');
      // One LSR read and one THR write per byte: the guest saw THRE set every time.
      expect(t.exits).toBe(2 * message.length + 1);
    });
  });

  describe('MMIO', () => {
    it('reads of 1, 2, 4 and 8 bytes return what the VMM gave; the guest writes the complement back', async () => {
      // The device answers a read at `offset` of `len` bytes with bytes (0xa0 + offset + 0x11 * i).
      const ops: { op: 'read' | 'write'; offset: number; bytes: number[] }[] = [];
      const device: BusDevice = {
        read: (offset, d) => {
          for (let i = 0; i < d.length; i++) d[i] = (0xa0 + offset + 0x11 * i) & 0xff;
          ops.push({ op: 'read', offset, bytes: [...d] });
        },
        write: (offset, d) => void ops.push({ op: 'write', offset, bytes: [...d] }),
      };
      const t = await longModeGuest({
        code: [
          0x8a, 0x03, //                                 mov al, [rbx]
          0xf6, 0xd0, //                                 not al
          0x88, 0x83, 0x00, 0x01, 0x00, 0x00, //         mov [rbx+0x100], al
          0x66, 0x8b, 0x43, 0x08, //                     mov ax, [rbx+0x8]
          0x66, 0xf7, 0xd0, //                           not ax
          0x66, 0x89, 0x83, 0x08, 0x01, 0x00, 0x00, //   mov [rbx+0x108], ax
          0x8b, 0x43, 0x10, //                           mov eax, [rbx+0x10]
          0xf7, 0xd0, //                                 not eax
          0x89, 0x83, 0x10, 0x01, 0x00, 0x00, //         mov [rbx+0x110], eax
          0x48, 0x8b, 0x43, 0x18, //                     mov rax, [rbx+0x18]
          0x48, 0xf7, 0xd0, //                           not rax
          0x48, 0x89, 0x83, 0x18, 0x01, 0x00, 0x00, //   mov [rbx+0x118], rax
          0xf4, //                                       hlt
        ],
        regs: { rbx: BigInt(MMIO_BASE) },
      });
      const b = buses();
      b.mmio.insert(MMIO_BASE, 0x1000, device, 'test-mmio');
      expect(await run(t, b)).toEqual({ action: 'halt' });
      const expected = [1, 2, 4, 8].flatMap((len, i) => {
        const read = Array.from({ length: len }, (_, j) => (0xa0 + i * 8 + 0x11 * j) & 0xff);
        return [
          { op: 'read', offset: i * 8, bytes: read },
          { op: 'write', offset: 0x100 + i * 8, bytes: read.map((x) => x ^ 0xff) },
        ];
      });
      expect(ops).toEqual(expected);
    });
  });

  describe('interrupts (in-kernel irqchip)', () => {
    /**
     * Main program: builds the IDT gate for `vector` (handler at HANDLER), loads the IDT,
     * runs `setup`, says 'R' on the marker port, then `sti; hlt` (the HLT waits in KVM) and
     * says 'D' once the handler has returned. The handler says 'I', runs `eoi` and returns.
     * A wrong vector would find an empty gate, fault and end in a triple fault.
     */
    function interruptGuest(vector: number, setup: number[], eoi: number[]): { code: number[]; handler: number[] } {
      const code = [
        0xbf, ...le32(0x3000 + vector * 16), //          mov edi, IDT + vector * 16
        0xb8, ...le32(HANDLER), //                       mov eax, HANDLER
        0x66, 0x89, 0x07, //                             mov [rdi], ax            ; offset 15:0
        0x66, 0xc7, 0x47, 0x02, 0x08, 0x00, //           mov word [rdi+2], 0x8    ; selector: boot code segment
        0x66, 0xc7, 0x47, 0x04, 0x00, 0x8e, //           mov word [rdi+4], 0x8e00 ; present, DPL 0, interrupt gate
        0xc1, 0xe8, 0x10, //                             shr eax, 16
        0x66, 0x89, 0x47, 0x06, //                       mov [rdi+6], ax          ; offset 31:16
        0x48, 0xc7, 0x47, 0x08, 0x00, 0x00, 0x00, 0x00, // mov qword [rdi+8], 0   ; offset 63:32, reserved
        0x66, 0xc7, 0x04, 0x25, 0xf0, 0x3f, 0x00, 0x00, 0xff, 0x0f, // mov word [0x3ff0], 0xfff  ; IDTR limit
        0x48, 0xc7, 0x04, 0x25, 0xf2, 0x3f, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, // mov qword [0x3ff2], 0x3000 ; IDTR base
        0x0f, 0x01, 0x1c, 0x25, 0xf0, 0x3f, 0x00, 0x00, // lidt [0x3ff0]
        ...setup,
        0xb0, 0x52, //                                   mov al, 'R'
        0xe6, MARK_PORT, //                              out 0xe9, al             ; ready: the VMM injects now
        0xfb, //                                         sti
        0xf4, //                                         hlt                      ; woken by the interrupt
        0xb0, 0x44, //                                   mov al, 'D'
        0xe6, MARK_PORT, //                              out 0xe9, al             ; the handler has returned
        0xf4, //                                         hlt
      ];
      const handler = [
        0xb0, 0x49, //                                   mov al, 'I'
        0xe6, MARK_PORT, //                              out 0xe9, al
        ...eoi,
        0x48, 0xcf, //                                   iretq
      ];
      return { code, handler };
    }

    /** Runs an interrupt guest; `inject` fires shortly after the guest says it is ready. */
    async function runInterruptGuest(
      guest: { code: number[]; handler: number[] },
      inject: (t: VcpuThread) => void,
    ): Promise<{ action: ExitAction; text: string }> {
      vm.createIrqchip();
      const t = await longModeGuest({ ...guest, irqchip: true });
      let text = '';
      const marks = recorder((d) => {
        text += String.fromCharCode(...d);
        // Later, from the event loop, while the vCPU waits in HLT inside KVM.
        if (d[0] === 0x52) setTimeout(() => inject(t), 20);
        if (d[0] === 0x44) t.stop();
      });
      const b = buses();
      b.pio.insert(MARK_PORT, 1, marks.device, 'marks');
      const action = await run(t, b);
      return { action, text };
    }

    const LAPIC_ON = [
      0xbb, 0x00, 0x00, 0xe0, 0xfe, //                 mov ebx, 0xfee00000      ; LAPIC
      0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, // mov dword [rbx+0xf0], 0x1ff ; SVR: enabled, spurious 0xff
    ];
    const LAPIC_EOI = [0xc7, 0x83, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]; // mov dword [rbx+0xb0], 0 ; EOI

    it('IRQ 5 through the 8259 PIC (KVM_IRQ_LINE) runs the handler at vector 0x25', async () => {
      const guest = interruptGuest(
        0x25,
        [
          0xb0, 0x11, 0xe6, 0x20, //                     mov al, 0x11 | out 0x20, al ; ICW1: edge, cascade, ICW4 follows
          0xb0, 0x20, 0xe6, 0x21, //                     mov al, 0x20 | out 0x21, al ; ICW2: IRQ 0-7 -> vectors 0x20-0x27
          0xb0, 0x04, 0xe6, 0x21, //                     mov al, 0x04 | out 0x21, al ; ICW3: slave on IR2
          0xb0, 0x01, 0xe6, 0x21, //                     mov al, 0x01 | out 0x21, al ; ICW4: 8086 mode
          0xb0, 0xdf, 0xe6, 0x21, //                     mov al, 0xdf | out 0x21, al ; OCW1: only IRQ 5 unmasked
        ],
        [0xb0, 0x20, 0xe6, 0x20], //                     mov al, 0x20 | out 0x20, al ; non-specific EOI
      );
      const r = await runInterruptGuest(guest, () => vm.pulseIrq(5));
      expect(r.text).toBe('RID');
      expect(r.action).toEqual({ action: 'stopped' });
    });

    it('IRQ 10 through the IOAPIC (KVM_IRQ_LINE) runs the handler at the vector the guest programmed', async () => {
      const guest = interruptGuest(
        0x4a,
        [
          ...LAPIC_ON,
          0xb0, 0xff, 0xe6, 0x21, 0xe6, 0xa1, //         mov al, 0xff | out 0x21, al | out 0xa1, al ; both 8259s masked
          0xb9, 0x00, 0x00, 0xc0, 0xfe, //               mov ecx, 0xfec00000      ; IOAPIC
          0xc7, 0x01, 0x24, 0x00, 0x00, 0x00, //         mov dword [rcx], 0x24    ; IOREGSEL: redirection entry 10, low
          0xc7, 0x41, 0x10, 0x4a, 0x00, 0x00, 0x00, //   mov dword [rcx+0x10], 0x4a ; IOWIN: vector 0x4a, fixed, edge, unmasked
          0xc7, 0x01, 0x25, 0x00, 0x00, 0x00, //         mov dword [rcx], 0x25    ; IOREGSEL: entry 10, high
          0xc7, 0x41, 0x10, 0x00, 0x00, 0x00, 0x00, //   mov dword [rcx+0x10], 0  ; destination: APIC ID 0
        ],
        LAPIC_EOI,
      );
      const r = await runInterruptGuest(guest, () => vm.pulseIrq(10));
      expect(r.text).toBe('RID');
      expect(r.action).toEqual({ action: 'stopped' });
    });

    it('an MSI (KVM_SIGNAL_MSI) to APIC ID 0 runs the handler at its vector', async () => {
      const guest = interruptGuest(0x41, LAPIC_ON, LAPIC_EOI);
      // address 0xfee00000: destination APIC ID 0, physical; data 0x41: fixed, edge, vector 0x41
      const r = await runInterruptGuest(guest, () => vm.signalMsi(0xfee0_0000, 0, 0x41));
      expect(r.text).toBe('RID');
      expect(r.action).toEqual({ action: 'stopped' });
    });

    it('without an interrupt the guest stays in HLT (the control for the tests above)', async () => {
      const guest = interruptGuest(0x41, LAPIC_ON, LAPIC_EOI);
      const r = await runInterruptGuest(guest, (t) => setTimeout(() => t.stop(), 1000));
      expect(r.text).toBe('R');
      expect(r.action).toEqual({ action: 'stopped' });
    });
  });

  describe('several vCPUs', () => {
    it('two vCPUs on two threads each report their CPUID APIC ID and the marker the VMM gave them', async () => {
      const code = [
        0xb8, 0x01, 0x00, 0x00, 0x00, //                 mov eax, 1
        0x0f, 0xa2, //                                   cpuid                    ; EBX[31:24] = initial APIC ID
        0xc1, 0xeb, 0x18, //                             shr ebx, 24
        0xc1, 0xe7, 0x08, //                             shl edi, 8               ; rdi = marker set by the test
        0x09, 0xfb, //                                   or ebx, edi              ; ebx = marker << 8 | APIC ID
        0x31, 0xc9, //                                   xor ecx, ecx             ; sequence number
        0x66, 0xba, 0x10, 0x05, //                       mov dx, 0x510
        0x89, 0xc8, //                             next: mov eax, ecx
        0xc1, 0xe0, 0x10, //                             shl eax, 16
        0x09, 0xd8, //                                   or eax, ebx              ; seq << 16 | marker << 8 | APIC ID
        0xef, //                                         out dx, eax              ; a 4-byte port write
        0xff, 0xc1, //                                   inc ecx
        0x83, 0xf9, 0x14, //                             cmp ecx, 20
        0x75, 0xf1, //                                   jne next
        0xf4, //                                         hlt
      ];
      const threads = [
        await longModeGuest({ code, id: 0, count: 2, regs: { rdi: 0xa0n } }),
        await longModeGuest({ code, id: 1, count: 2, regs: { rdi: 0xa1n } }),
      ];
      const seen: number[] = [];
      const port = recorder((d) => void seen.push(new DataView(d.buffer, d.byteOffset, 4).getUint32(0, true)));
      const b = buses(); // one bus for both, as in a VM
      b.pio.insert(0x510, 4, port.device, 'marks');
      const actions = await Promise.all(threads.map((t) => run(t, b)));
      expect(actions).toEqual([{ action: 'halt' }, { action: 'halt' }]);
      expect(port.writes.every((w) => w.length === 4)).toBe(true);
      // Each vCPU's 20 writes arrive in its own order, whatever the interleaving.
      for (const id of [0, 1]) {
        const mine = seen.filter((v) => (v & 0xff) === id);
        expect(mine).toEqual(Array.from({ length: 20 }, (_, seq) => (seq << 16) | ((0xa0 + id) << 8) | id));
      }
      expect(seen).toHaveLength(40);
    });

    it('the BSP starts the AP with INIT and SIPI through the in-kernel LAPIC; the AP runs real-mode code at the SIPI vector', async () => {
      vm.createIrqchip();
      // The AP's code, at 0x1000 = SIPI vector 1 << 12; it starts there in real mode.
      memory().write(
        0x1000,
        Uint8Array.of(
          0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, //          mov eax, 1
          0x0f, 0xa2, //                                  cpuid                    ; EBX[31:24] = initial APIC ID
          0x66, 0xc1, 0xeb, 0x18, //                      shr ebx, 24
          0x66, 0x89, 0xd8, //                            mov eax, ebx
          0x66, 0x0d, 0x00, 0xa0, 0x00, 0x00, //          or eax, 0xa000           ; 0xa0: "I am the AP"
          0xba, 0x10, 0x05, //                            mov dx, 0x510
          0x66, 0xef, //                                  out dx, eax
          0xf4, //                                        hlt
        ),
      );
      const bsp = await longModeGuest({
        irqchip: true,
        count: 2,
        code: [
          0xbb, 0x00, 0x00, 0xe0, 0xfe, //                 mov ebx, 0xfee00000      ; LAPIC
          0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, // mov dword [rbx+0xf0], 0x1ff ; SVR: enabled
          0xc7, 0x83, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // mov dword [rbx+0x310], 0x01000000 ; ICR high: APIC ID 1
          0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, // mov dword [rbx+0x300], 0x4500 ; ICR low: INIT, assert
          0xc7, 0x83, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // mov dword [rbx+0x310], 0x01000000
          0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x01, 0x46, 0x00, 0x00, // mov dword [rbx+0x300], 0x4601 ; start-up IPI, vector 1
          0xb8, 0x01, 0x00, 0x00, 0x00, //                 mov eax, 1
          0x0f, 0xa2, //                                   cpuid
          0xc1, 0xeb, 0x18, //                             shr ebx, 24
          0x89, 0xd8, //                                   mov eax, ebx
          0x0d, 0x00, 0xb0, 0x00, 0x00, //                 or eax, 0xb000           ; 0xb0: "I am the BSP"
          0x66, 0xba, 0x10, 0x05, //                       mov dx, 0x510
          0xef, //                                         out dx, eax
          0xf4, //                                         hlt                      ; waits in KVM
        ],
      });
      // Set up like the BSP (CPUID with APIC ID 1); KVM holds it until the SIPI, which
      // replaces these registers with real mode at the vector.
      const ap = await longModeGuest({ irqchip: true, id: 1, count: 2 });
      const seen: number[] = [];
      const port = recorder((d) => {
        seen.push(new DataView(d.buffer, d.byteOffset, 4).getUint32(0, true));
        if (seen.length === 2) for (const t of [bsp, ap]) t.stop();
      });
      const b = buses();
      b.pio.insert(0x510, 4, port.device, 'marks');
      const actions = await Promise.all([run(bsp, b), run(ap, b)]);
      expect(seen.sort()).toEqual([0xa001, 0xb000]);
      expect(actions).toEqual([{ action: 'stopped' }, { action: 'stopped' }]);
    });
  });
});
