/**
 * A PCI function's configuration space, type 0 header (PCI Local Bus
 * Specification 3.0 §6.1, "Configuration Space Organization"):
 *
 *   00 vendor[2] device[2]   04 command[2] status[2]   08 revision[1] class[3]
 *   0C cacheline[1] latency[1] header_type[1] bist[1]  10-24 BAR0..BAR5[4 each]
 *   2C subsystem_vendor[2] subsystem[2]  34 capabilities_ptr[1]
 *   3C interrupt_line[1] interrupt_pin[1] min_gnt[1] max_lat[1]   40-FF capabilities
 *
 * Only what a guest may change is writable: command (I/O, memory, bus
 * master, INTx disable), BAR addresses (§6.2.5.1 sizing: "writing all 1's
 * ... then reading back" returns the size mask), interrupt line, and
 * capability bytes a device marks writable.  Everything else ignores writes.
 */

export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
const COMMAND_WRITABLE = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
const STATUS_CAP_LIST = 0x10;

export type BarKind = 'mem32' | 'mem64' | 'io';

export interface BarSpec {
  index: number;
  kind: BarKind;
  /** Bytes: a power of 2 (>= 16 for memory, >= 4 for I/O). */
  size: number;
  prefetchable?: boolean;
}

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  /** (class << 16) | (subclass << 8) | prog-if. */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 1 = INTA# .. 4 = INTD#, 0 = none. */
  interruptPin?: number;
}

interface Bar extends BarSpec {
  address: number;
}

export class PciConfigSpace {
  readonly bytes = new Uint8Array(256);
  private readonly bars: (Bar | undefined)[] = [];
  /** Bytes of the capability area the guest may write (set by the device). */
  private readonly writableCap = new Uint8Array(256);
  private nextCap = 0x40;
  private lastCapPtr = 0x34;

  constructor(id: PciIdentity) {
    this.set16(0x00, id.vendorId);
    this.set16(0x02, id.deviceId);
    this.bytes[0x08] = id.revision ?? 0;
    this.bytes[0x09] = id.classCode & 0xff;
    this.bytes[0x0a] = (id.classCode >>> 8) & 0xff;
    this.bytes[0x0b] = (id.classCode >>> 16) & 0xff;
    this.bytes[0x0e] = 0x00; // header type 0, single function
    this.set16(0x2c, id.subsystemVendorId ?? 0);
    this.set16(0x2e, id.subsystemId ?? 0);
    this.bytes[0x3d] = id.interruptPin ?? 0;
  }

  /** Declare a BAR (before the guest runs). A 64-bit BAR also takes index + 1. */
  addBar(spec: BarSpec): void {
    const { index, kind, size } = spec;
    const min = kind === 'io' ? 4 : 16;
    if (!Number.isInteger(index) || index < 0 || index > (kind === 'mem64' ? 4 : 5)) throw new RangeError(`BAR index ${index}`);
    if (!Number.isSafeInteger(size) || size < min || (size & (size - 1)) !== 0 || (kind !== 'mem64' && size > 0x8000_0000)) {
      throw new RangeError(`BAR size ${size}`);
    }
    this.bars[index] = { ...spec, address: 0 };
    this.writeBarRegister(index);
    if (kind === 'mem64') this.writeBarRegister(index + 1);
  }

  /** Where the guest placed BAR `index` (0 until it assigns one). */
  barAddress(index: number): number {
    return this.bars[index]?.address ?? 0;
  }

  barSize(index: number): number {
    return this.bars[index]?.size ?? 0;
  }

  get command(): number {
    return this.get16(0x04);
  }

  /**
   * Append a capability (§6.7): `body` are the bytes after the ID and next
   * pointer. Returns its offset. `writable` lists offsets within the whole
   * capability (0 = the ID byte) the guest may write.
   */
  addCapability(id: number, body: Uint8Array, writable: readonly number[] = []): number {
    const at = this.nextCap;
    const len = (2 + body.length + 3) & ~3;
    if (at + len > 256) throw new RangeError('capabilities do not fit in the 256-byte configuration space');
    this.bytes[at] = id;
    this.bytes[at + 1] = 0;
    this.bytes.set(body, at + 2);
    this.bytes[this.lastCapPtr === 0x34 ? 0x34 : this.lastCapPtr + 1] = at;
    this.lastCapPtr = at;
    this.nextCap = at + len;
    for (const w of writable) this.writableCap[at + w] = 1;
    this.set16(0x06, this.get16(0x06) | STATUS_CAP_LIST);
    return at;
  }

  /** A configuration read of `size` (1, 2, 4) bytes at `offset` (naturally aligned). */
  read(offset: number, size: number): number {
    if (offset < 0 || offset + size > 256) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.bytes[offset + i] as number);
    return v >>> 0;
  }

  /** A configuration write; only writable fields change. */
  write(offset: number, size: number, value: number): void {
    if (offset < 0 || offset + size > 256) return;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte = (value >>> (8 * i)) & 0xff;
      if (at === 0x04 || at === 0x05) {
        const cmd = (this.get16(0x04) & ~(0xff << (8 * (at - 0x04)))) | (byte << (8 * (at - 0x04)));
        this.set16(0x04, cmd & COMMAND_WRITABLE);
      } else if (at === 0x3c) {
        this.bytes[at] = byte;
      } else if (at >= 0x10 && at < 0x28) {
        this.bytes[at] = byte; // staged; normalized below per BAR
      } else if (at >= 0x40 && this.writableCap[at] === 1) {
        this.bytes[at] = byte;
      }
    }
    // BAR registers: keep only the address bits the size allows, and the type bits.
    const first = Math.max(0, Math.floor((offset - 0x10) / 4));
    const last = Math.min(5, Math.floor((offset + size - 1 - 0x10) / 4));
    for (let r = first; r <= last; r++) if (offset + size > 0x10 && offset < 0x28) this.normalizeBar(r);
  }

  private normalizeBar(reg: number): void {
    const at = 0x10 + 4 * reg;
    const raw = this.get32(at);
    const bar = this.bars[reg];
    const lowerOf64 = reg > 0 ? this.bars[reg - 1] : undefined;
    if (bar !== undefined) {
      const mask = bar.kind === 'io' ? ~(bar.size - 1) & 0xfffffffc : ~(bar.size - 1) & 0xfffffff0;
      const low = raw & mask;
      if (bar.kind === 'mem64') {
        const high = this.get32(at + 4);
        bar.address = high * 0x1_0000_0000 + (low >>> 0);
      } else {
        bar.address = low >>> 0;
      }
      this.writeBarRegister(reg);
    } else if (lowerOf64 !== undefined && lowerOf64.kind === 'mem64') {
      // The upper half of a 64-bit BAR: writable above the size (all of it below 4 GiB).
      const highMask = lowerOf64.size > 0x1_0000_0000 ? ~(lowerOf64.size / 0x1_0000_0000 - 1) >>> 0 : 0xffffffff;
      const high = (raw & highMask) >>> 0;
      const low = this.get32(at - 4) & 0xfffffff0;
      lowerOf64.address = high * 0x1_0000_0000 + (low >>> 0);
      this.set32(at, high);
    } else {
      this.set32(at, 0); // no BAR here: reads as 0, sizing finds nothing
    }
  }

  private writeBarRegister(reg: number): void {
    const bar = this.bars[reg];
    const at = 0x10 + 4 * reg;
    if (bar === undefined) {
      const lower = reg > 0 ? this.bars[reg - 1] : undefined;
      if (lower?.kind === 'mem64') this.set32(at, Math.floor(lower.address / 0x1_0000_0000) >>> 0);
      return;
    }
    const type = bar.kind === 'io' ? 0x1 : (bar.kind === 'mem64' ? 0x4 : 0x0) | (bar.prefetchable === true ? 0x8 : 0);
    this.set32(at, ((bar.address % 0x1_0000_0000) | type) >>> 0);
  }

  private get16(at: number): number {
    return (this.bytes[at] as number) | ((this.bytes[at + 1] as number) << 8);
  }
  private set16(at: number, v: number): void {
    this.bytes[at] = v & 0xff;
    this.bytes[at + 1] = (v >>> 8) & 0xff;
  }
  private get32(at: number): number {
    return (this.get16(at) | (this.get16(at + 2) << 16)) >>> 0;
  }
  private set32(at: number, v: number): void {
    this.set16(at, v & 0xffff);
    this.set16(at + 2, v >>> 16);
  }
}
