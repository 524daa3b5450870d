/**
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2)
 * on I/O ports 0xCF8-0xCFF, bus 0 only, with a host bridge at 00:00.0.
 *
 *   CONFIG_ADDRESS (0xCF8, 32-bit):  31 enable | 23:16 bus | 15:11 device |
 *                                    10:8 function | 7:2 register | 1:0 = 0
 *   CONFIG_DATA (0xCFC-0xCFF): the addressed dword; byte and word accesses
 *   at 0xCFC + n reach byte n of it.
 *
 * Linux's pci_check_type1() writes 0x80000000 to 0xCF8 as a dword and
 * expects to read it back, then looks for a host bridge (class 0x0600) on
 * bus 0.  Reads of absent functions return all ones; only dword accesses
 * to 0xCF8 touch CONFIG_ADDRESS.
 */

import type { BusDevice } from '../bus.js';
import { PciConfigSpace } from './config-space.js';

export const PCI_CONFIG_PORT = 0xcf8;
export const PCI_CONFIG_PORTS = 8;

export interface PciFunction {
  readonly config: PciConfigSpace;
  /** A configuration write landed (after the config space applied it). */
  configWritten?(offset: number, size: number): void;
}

export class PciRoot implements BusDevice {
  private address = 0;
  private readonly slots: (PciFunction | undefined)[] = new Array<PciFunction | undefined>(32);

  constructor(hostBridge: PciIdentityLike = { vendorId: 0x8086, deviceId: 0x1237 }) {
    // 440FX-compatible host bridge ids, as QEMU and moby/hyperkit's hostbridge use.
    this.slots[0] = { config: new PciConfigSpace({ ...hostBridge, classCode: 0x060000 }) };
  }

  /** Put a single-function device in `slot` (1..31). */
  add(slot: number, fn: PciFunction): void {
    if (!Number.isInteger(slot) || slot < 1 || slot > 31) throw new RangeError(`PCI slot ${slot} (1..31)`);
    if (this.slots[slot] !== undefined) throw new RangeError(`PCI slot ${slot} is taken`);
    this.slots[slot] = fn;
  }

  /** The function CONFIG_ADDRESS names, if enabled and present. */
  private target(): PciFunction | undefined {
    const a = this.address;
    if ((a & 0x8000_0000) === 0) return undefined;
    const bus = (a >>> 16) & 0xff;
    const dev = (a >>> 11) & 0x1f;
    const fn = (a >>> 8) & 0x7;
    if (bus !== 0 || fn !== 0) return undefined;
    return this.slots[dev];
  }

  read(offset: number, data: Uint8Array): void {
    const size = data.length;
    let v: number;
    if (offset === 0 && size === 4) v = this.address;
    else if (offset >= 4 && offset + size <= 8 && (size === 1 || size === 2 || size === 4)) {
      const t = this.target();
      const reg = (this.address & 0xfc) + (offset - 4);
      v = t === undefined ? 0xffffffff : t.config.read(reg, size);
    } else v = 0xffffffff;
    for (let i = 0; i < size; i++) data[i] = (v >>> (8 * i)) & 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    const size = data.length;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (data[i] as number);
    v >>>= 0;
    if (offset === 0 && size === 4) {
      this.address = v & 0x80fffffc;
      return;
    }
    if (offset >= 4 && offset + size <= 8 && (size === 1 || size === 2 || size === 4)) {
      const t = this.target();
      if (t === undefined) return;
      const reg = (this.address & 0xfc) + (offset - 4);
      t.config.write(reg, size, v);
      t.configWritten?.(reg, size);
    }
  }
}

type PciIdentityLike = { vendorId: number; deviceId: number };
