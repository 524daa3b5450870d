/**
 * Port-I/O and MMIO buses: address ranges mapped to devices (Firecracker `vm-device`'s
 * Bus). Ranges never overlap and the table is bounded; lookup is a binary search.
 */
import { HyperkitError } from '../errors.js';

export interface BusDevice {
  /** Fill `data` with the bytes at `offset` from the start of the device's range. */
  read(offset: number, data: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
}

interface Range {
  base: number;
  length: number;
  device: BusDevice;
  name: string;
}

export class Bus {
  readonly #ranges: Range[] = [];
  readonly name: string;
  readonly #limit: number;

  constructor(name: string, { maxRanges = 1024 }: { maxRanges?: number } = {}) {
    this.name = name;
    this.#limit = maxRanges;
  }

  /** Maps `[base, base + length)` to `device`; refuses overlaps. */
  insert(base: number, length: number, device: BusDevice, name = 'device'): void {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0 || length <= 0) {
      throw new HyperkitError('BUS_RANGE', `${this.name}: invalid range ${base}+${length} for ${name}`);
    }
    if (this.#ranges.length >= this.#limit) {
      throw new HyperkitError('BUS_FULL', `${this.name}: more than ${this.#limit} ranges`);
    }
    const clash = this.#ranges.find((r) => base < r.base + r.length && r.base < base + length);
    if (clash) {
      throw new HyperkitError(
        'BUS_OVERLAP',
        `${this.name}: ${name} at 0x${base.toString(16)}+${length} overlaps ${clash.name} at 0x${clash.base.toString(16)}+${clash.length}`,
      );
    }
    this.#ranges.push({ base, length, device, name });
    this.#ranges.sort((a, b) => a.base - b.base);
  }

  /** The device and offset serving `addr` for an access of `len` bytes, if one does. */
  resolve(addr: number, len: number): { device: BusDevice; offset: number } | undefined {
    const rs = this.#ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid] as Range;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.length) lo = mid + 1;
      else return addr + len <= r.base + r.length ? { device: r.device, offset: addr - r.base } : undefined;
    }
    return undefined;
  }

  /** Reads into `data`; an access nothing claims reads as all ones, as on a real bus. */
  read(addr: number, data: Uint8Array): boolean {
    const hit = this.resolve(addr, data.length);
    if (!hit) {
      data.fill(0xff);
      return false;
    }
    hit.device.read(hit.offset, data);
    return true;
  }

  /** Writes `data`; an access nothing claims is dropped. */
  write(addr: number, data: Uint8Array): boolean {
    const hit = this.resolve(addr, data.length);
    if (!hit) return false;
    hit.device.write(hit.offset, data);
    return true;
  }
}
