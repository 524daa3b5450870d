/**
 * The KVM structs hyperkit passes through ioctls, as typed objects encoded into and
 * decoded from byte buffers (x86_64 ABI, little-endian), from include/uapi/asm-x86/kvm.h.
 *
 *   struct kvm_regs  { __u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp,
 *                      r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags; }      144 bytes
 *   struct kvm_segment { __u64 base; __u32 limit; __u16 selector; __u8 type, present,
 *                      dpl, db, s, l, g, avl; __u8 unusable; __u8 padding; }     24 bytes
 *   struct kvm_dtable { __u64 base; __u16 limit; __u16 padding[3]; }              16 bytes
 *   struct kvm_sregs { struct kvm_segment cs, ds, es, fs, gs, ss, tr, ldt;
 *                      struct kvm_dtable gdt, idt; __u64 cr0, cr2, cr3, cr4, cr8,
 *                      efer, apic_base, interrupt_bitmap[4]; }                    312 bytes
 *   struct kvm_userspace_memory_region { __u32 slot, flags; __u64 guest_phys_addr,
 *                      memory_size, userspace_addr; }                             32 bytes
 */

export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
] as const;
export type Regs = Record<(typeof REG_NAMES)[number], bigint>;
export const KVM_REGS_SIZE = 144;

export function decodeRegs(buf: Uint8Array): Regs {
  const dv = new DataView(buf.buffer, buf.byteOffset, KVM_REGS_SIZE);
  const out = {} as Regs;
  REG_NAMES.forEach((name, i) => {
    out[name] = dv.getBigUint64(i * 8, true);
  });
  return out;
}

export function encodeRegs(regs: Regs, buf = new Uint8Array(KVM_REGS_SIZE)): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, KVM_REGS_SIZE);
  REG_NAMES.forEach((name, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, regs[name]), true));
  return buf;
}

export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}
export interface DTable {
  base: bigint;
  limit: number;
}
const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export type Sregs = Record<(typeof SEGMENTS)[number], Segment> & {
  gdt: DTable;
  idt: DTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
  /** Pending external interrupt bitmap, 256 bits. */
  interruptBitmap: [bigint, bigint, bigint, bigint];
};
export const KVM_SREGS_SIZE = 312;
const SEG_SIZE = 24;
const DTABLE_OFF = SEGMENTS.length * SEG_SIZE; // 192
const CR_OFF = DTABLE_OFF + 2 * 16; // 224

function getSegment(dv: DataView, off: number): Segment {
  return {
    base: dv.getBigUint64(off, true),
    limit: dv.getUint32(off + 8, true),
    selector: dv.getUint16(off + 12, true),
    type: dv.getUint8(off + 14),
    present: dv.getUint8(off + 15),
    dpl: dv.getUint8(off + 16),
    db: dv.getUint8(off + 17),
    s: dv.getUint8(off + 18),
    l: dv.getUint8(off + 19),
    g: dv.getUint8(off + 20),
    avl: dv.getUint8(off + 21),
    unusable: dv.getUint8(off + 22),
  };
}

function setSegment(dv: DataView, off: number, s: Segment): void {
  dv.setBigUint64(off, s.base, true);
  dv.setUint32(off + 8, s.limit, true);
  dv.setUint16(off + 12, s.selector, true);
  const bytes = [s.type, s.present, s.dpl, s.db, s.s, s.l, s.g, s.avl, s.unusable, 0];
  bytes.forEach((b, i) => dv.setUint8(off + 14 + i, b));
}

export function decodeSregs(buf: Uint8Array): Sregs {
  const dv = new DataView(buf.buffer, buf.byteOffset, KVM_SREGS_SIZE);
  const segs = Object.fromEntries(SEGMENTS.map((n, i) => [n, getSegment(dv, i * SEG_SIZE)])) as Record<
    (typeof SEGMENTS)[number],
    Segment
  >;
  const dt = (off: number): DTable => ({ base: dv.getBigUint64(off, true), limit: dv.getUint16(off + 8, true) });
  const u64 = (i: number): bigint => dv.getBigUint64(CR_OFF + i * 8, true);
  return {
    ...segs,
    gdt: dt(DTABLE_OFF),
    idt: dt(DTABLE_OFF + 16),
    cr0: u64(0),
    cr2: u64(1),
    cr3: u64(2),
    cr4: u64(3),
    cr8: u64(4),
    efer: u64(5),
    apicBase: u64(6),
    interruptBitmap: [u64(7), u64(8), u64(9), u64(10)],
  };
}

export function encodeSregs(s: Sregs, buf = new Uint8Array(KVM_SREGS_SIZE)): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, KVM_SREGS_SIZE);
  SEGMENTS.forEach((n, i) => setSegment(dv, i * SEG_SIZE, s[n]));
  const dt = (off: number, t: DTable): void => {
    dv.setBigUint64(off, t.base, true);
    dv.setUint16(off + 8, t.limit, true);
    dv.setUint16(off + 10, 0, true);
    dv.setUint32(off + 12, 0, true);
  };
  dt(DTABLE_OFF, s.gdt);
  dt(DTABLE_OFF + 16, s.idt);
  const vals = [s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apicBase, ...s.interruptBitmap];
  vals.forEach((v, i) => dv.setBigUint64(CR_OFF + i * 8, v, true));
  return buf;
}

export interface MemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}
export const KVM_USERSPACE_MEMORY_REGION_SIZE = 32;

export function encodeMemoryRegion(r: MemoryRegion): Uint8Array {
  const buf = new Uint8Array(KVM_USERSPACE_MEMORY_REGION_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, r.slot, true);
  dv.setUint32(4, r.flags, true);
  dv.setBigUint64(8, r.guestPhysAddr, true);
  dv.setBigUint64(16, r.memorySize, true);
  dv.setBigUint64(24, r.userspaceAddr, true);
  return buf;
}
