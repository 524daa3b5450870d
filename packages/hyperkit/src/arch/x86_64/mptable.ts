/**
 * The Intel MultiProcessor Specification (v1.4) tables, so Linux finds every vCPU, the I/O
 * APIC and the ISA interrupt routing without ACPI. Placed in the EBDA, where Linux scans.
 *
 *   MP Floating Pointer (16 bytes, "_MP_"): physptr[4] length[1]=1 spec_rev[1]=4
 *     checksum[1] feature1..5[5]                     (feature1 = 0: a config table exists)
 *   MP Configuration Table header (44 bytes, "PCMP"): base_len[2] spec_rev[1] checksum[1]
 *     oem_id[8] product_id[12] oem_ptr[4] oem_size[2] entry_count[2] lapic_addr[4]
 *     ext_len[2] ext_checksum[1] reserved[1]
 *   Processor entry (20): type=0 lapic_id[1] lapic_ver[1] flags[1] (EN=1, BP=2)
 *     signature[4] feature_flags[4] reserved[8]
 *   Bus entry (8): type=1 bus_id[1] bus_type[6] ("ISA   ")
 *   I/O APIC entry (8): type=2 id[1] version[1] flags[1] (EN=1) address[4]
 *   I/O interrupt entry (8): type=3 irq_type[1] (0 INT, 3 ExtINT) flags[2] src_bus[1]
 *     src_irq[1] dst_apic[1] dst_intin[1]
 *   Local interrupt entry (8): type=4 irq_type[1] (3 ExtINT, 1 NMI) flags[2] src_bus[1]
 *     src_irq[1] dst_lapic[1] (0xff: all) dst_lintin[1]
 * Every table's bytes sum to zero (mod 256) with its checksum.
 */
import { HyperkitError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { APIC_START, EBDA_START, IOAPIC_START } from './layout.js';

const FLOATING_SIZE = 16;
const HEADER_SIZE = 44;
const CPU_ENTRY = 20;
const SMALL_ENTRY = 8;
const ISA_IRQS = 16;
const APIC_VERSION = 0x14;
const IOAPIC_VERSION = 0x11;
/** Family 6 signature and the CPUID.1:EDX bits the spec asks for (FPU, APIC). */
const CPU_SIGNATURE = 0x600;
const CPU_FEATURES = 0x201;
/** Linux accepts up to 255 LAPIC IDs here; the I/O APIC takes the ID after the last CPU. */
export const MPTABLE_MAX_CPUS = 254;

export function mptableSize(cpus: number): number {
  return FLOATING_SIZE + HEADER_SIZE + cpus * CPU_ENTRY + SMALL_ENTRY * (1 + 1 + ISA_IRQS + 2);
}

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (const x of b) sum = (sum + x) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** Pure: the tables for `cpus` vCPUs, as they must sit at guest address `base`. */
export function buildMptable(cpus: number, base = EBDA_START): Uint8Array {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MPTABLE_MAX_CPUS) {
    throw new HyperkitError('MPTABLE', `the MP table describes 1 to ${MPTABLE_MAX_CPUS} vCPUs, not ${cpus}`);
  }
  const buf = new Uint8Array(mptableSize(cpus));
  const dv = new DataView(buf.buffer);
  const ascii = (off: number, s: string): void => {
    for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  };
  const ioapicId = cpus;

  // Floating pointer.
  ascii(0, '_MP_');
  dv.setUint32(4, base + FLOATING_SIZE, true);
  buf[8] = 1;
  buf[9] = 4;

  // Configuration table.
  const t = FLOATING_SIZE;
  ascii(t, 'PCMP');
  buf[t + 6] = 4;
  ascii(t + 8, 'KITBOX  ');
  ascii(t + 16, 'HYPERKIT    ');
  dv.setUint32(t + 36, APIC_START, true);
  let off = t + HEADER_SIZE;
  let entries = 0;
  for (let id = 0; id < cpus; id++, entries++, off += CPU_ENTRY) {
    buf[off] = 0;
    buf[off + 1] = id;
    buf[off + 2] = APIC_VERSION;
    buf[off + 3] = 1 | (id === 0 ? 2 : 0);
    dv.setUint32(off + 4, CPU_SIGNATURE, true);
    dv.setUint32(off + 8, CPU_FEATURES, true);
  }
  buf[off] = 1; // bus 0: ISA
  ascii(off + 2, 'ISA   ');
  off += SMALL_ENTRY;
  entries++;
  buf[off] = 2; // the I/O APIC
  buf[off + 1] = ioapicId;
  buf[off + 2] = IOAPIC_VERSION;
  buf[off + 3] = 1;
  dv.setUint32(off + 4, IOAPIC_START, true);
  off += SMALL_ENTRY;
  entries++;
  // ISA IRQ n -> I/O APIC pin n, all vectored interrupts (mp_INT), matching KVM's default
  // GSI routing (kvm_setup_default_irq_routing). Linux finds the timer through IRQ 0's entry.
  for (let irq = 0; irq < ISA_IRQS; irq++, off += SMALL_ENTRY, entries++) {
    buf[off] = 3;
    buf[off + 1] = 0;
    buf[off + 4] = 0;
    buf[off + 5] = irq;
    buf[off + 6] = ioapicId;
    buf[off + 7] = irq;
  }
  // The legacy PIC (ExtINT) on the bootstrap processor's LINT0; NMI on every LAPIC's LINT1.
  for (const [type, lapic, lint] of [[3, 0, 0], [1, 0xff, 1]] as const) {
    buf[off] = 4;
    buf[off + 1] = type;
    buf[off + 6] = lapic;
    buf[off + 7] = lint;
    off += SMALL_ENTRY;
    entries++;
  }
  dv.setUint16(t + 4, off - t, true); // base table length
  dv.setUint16(t + 34, entries, true);
  buf[t + 7] = checksum(buf.subarray(t, off));
  buf[10] = checksum(buf.subarray(0, FLOATING_SIZE));
  return buf;
}

/** Writes the MP tables for `cpus` vCPUs into the EBDA. */
export function writeMptable(mem: GuestMemory, cpus: number): void {
  mem.write(EBDA_START, buildMptable(cpus, EBDA_START));
}
