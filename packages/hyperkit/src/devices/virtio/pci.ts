/**
 * The virtio-pci transport, modern (virtio 1.2 §4.1), with MSI-X.
 *
 * One 16 KiB memory BAR (BAR0) holds every structure, each found through a
 * vendor capability (§4.1.4: struct virtio_pci_cap { cap_vndr 0x09, cap_next,
 * cap_len, cfg_type, bar, id, padding[2], offset le32, length le32 }):
 *
 *   0x0000 common configuration (cfg_type 1, 56 bytes: §4.1.4.3)
 *   0x1000 ISR status (cfg_type 3, 1 byte)
 *   0x2000 device configuration (cfg_type 4)
 *   0x3000 notifications (cfg_type 2, notify_off_multiplier 4: queue n at 0x3000 + 4n)
 *   0x3800 MSI-X table (16 bytes per vector), 0x3c00 pending bits
 *
 * struct virtio_pci_common_cfg:
 *   0 device_feature_select le32 | 4 device_feature le32 | 8 driver_feature_select le32 |
 *   12 driver_feature le32 | 16 config_msix_vector le16 | 18 num_queues le16 |
 *   20 device_status u8 | 21 config_generation u8 | 22 queue_select le16 |
 *   24 queue_size le16 | 26 queue_msix_vector le16 | 28 queue_enable le16 |
 *   30 queue_notify_off le16 | 32 queue_desc le64 | 40 queue_driver le64 | 48 queue_device le64
 *
 * Device ID 0x1040 + virtio id, vendor 0x1af4, revision 1 (§4.1.2.1). A device
 * supplies its features, queue sizes, config bytes and a `notify(queue)`; a
 * malformed queue marks the device DEVICE_NEEDS_RESET (§2.1.2) and it stops
 * touching guest memory until reset.
 */

import type { GuestMemory } from '../../memory/guest-memory.js';
import type { BusDevice } from '../bus.js';
import { PciConfigSpace } from '../pci/config-space.js';
import type { PciFunction } from '../pci/root.js';
import { QueueError, SplitQueue } from './queue.js';

export const VIRTIO_F_VERSION_1 = 2 ** 32;
export const VIRTIO_F_RING_INDIRECT_DESC = 2 ** 28;
export const VIRTIO_F_RING_EVENT_IDX = 2 ** 29;

const STATUS_DRIVER_OK = 4;
const STATUS_FEATURES_OK = 8;
const STATUS_NEEDS_RESET = 0x40;
const NO_VECTOR = 0xffff;

export const BAR_SIZE = 0x4000;
const COMMON = 0x0000;
const ISR = 0x1000;
const DEVICE_CFG = 0x2000;
const NOTIFY = 0x3000;
const MSIX_TABLE = 0x3800;
const MSIX_PBA = 0x3c00;

/** What a virtio device implements behind the transport. */
export interface VirtioDevice {
  /** Virtio device id (§5: 3 console, 4 entropy, 2 block, ...). */
  readonly deviceId: number;
  /** Feature bits offered (VIRTIO_F_VERSION_1 is added by the transport). */
  readonly features: number;
  /** Maximum size of each queue. */
  readonly queueSizes: readonly number[];
  /** The device-specific configuration bytes (read by the driver; writes go to `configWrite`). */
  readonly config: Uint8Array;
  configWrite?(offset: number, data: Uint8Array): void;
  /** The driver notified queue `index`; use `transport.queue(index)` and `transport.interrupt(index)`. */
  notify(index: number, transport: VirtioPciTransport): void;
  /** The driver reset the device. */
  reset?(): void;
}

interface QueueState {
  size: number;
  maxSize: number;
  vector: number;
  enabled: boolean;
  desc: number;
  driver: number;
  device: number;
  queue: SplitQueue | undefined;
}

export interface InterruptSink {
  /** Deliver an MSI (address, data). */
  msi(addressLo: number, addressHi: number, data: number): void;
}

function rd(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[at + i] as number);
  return v;
}

export class VirtioPciTransport implements PciFunction, BusDevice {
  readonly config: PciConfigSpace;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0;
  private status = 0;
  private generation = 0;
  private queueSelect = 0;
  private configVector = NO_VECTOR;
  private isr = 0;
  private readonly queues: QueueState[];
  private readonly msix: Uint8Array;
  private readonly msixVectors: number;
  private readonly offered: number;

  constructor(
    private readonly device: VirtioDevice,
    private readonly mem: GuestMemory,
    private readonly irq: InterruptSink,
  ) {
    this.offered = device.features + VIRTIO_F_VERSION_1 + VIRTIO_F_RING_INDIRECT_DESC;
    this.queues = device.queueSizes.map((n) => ({ size: n, maxSize: n, vector: NO_VECTOR, enabled: false, desc: 0, driver: 0, device: 0, queue: undefined }));
    this.msixVectors = device.queueSizes.length + 1;
    this.msix = new Uint8Array(16 * this.msixVectors);
    for (let v = 0; v < this.msixVectors; v++) this.msix[16 * v + 12] = 1; // masked until the driver says
    this.config = new PciConfigSpace({
      vendorId: 0x1af4,
      deviceId: 0x1040 + device.deviceId,
      classCode: 0x00ff00,
      revision: 1,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x40,
      interruptPin: 1,
    });
    this.config.addBar({ index: 0, kind: 'mem32', size: BAR_SIZE });
    const cap = (type: number, offset: number, length: number, extra: number[] = []): void => {
      const b = new Uint8Array(14 + extra.length);
      // cap_len, cfg_type, bar, id, padding[2], offset, length (after cap_vndr and cap_next).
      b[0] = 16 + extra.length;
      b[1] = type;
      b[2] = 0;
      const dv = new DataView(b.buffer);
      dv.setUint32(6, offset, true);
      dv.setUint32(10, length, true);
      b.set(extra, 14);
      this.config.addCapability(0x09, b);
    };
    cap(1, COMMON, 56);
    cap(2, NOTIFY, 4 * this.queues.length, [4, 0, 0, 0]); // notify_off_multiplier
    cap(3, ISR, 1);
    if (device.config.length > 0) cap(4, DEVICE_CFG, device.config.length);
    // MSI-X (PCI 3.0 §6.8.2): message control (table size - 1; enable bit 15 and function
    // mask bit 14 are the writable byte 3), table and PBA offsets in BAR0.
    const mc = this.msixVectors - 1;
    const msixCap = new Uint8Array(10);
    const mdv = new DataView(msixCap.buffer);
    mdv.setUint16(0, mc, true);
    mdv.setUint32(2, MSIX_TABLE | 0, true);
    mdv.setUint32(6, MSIX_PBA | 0, true);
    this.msixCapAt = this.config.addCapability(0x11, msixCap, [3]);
  }

  private readonly msixCapAt: number;

  private msixEnabled(): boolean {
    const b = this.config.bytes[this.msixCapAt + 3] as number;
    return (b & 0x80) !== 0 && (b & 0x40) === 0;
  }

  /** The queue the driver set up, or undefined (not enabled, or broken). */
  queue(index: number): SplitQueue | undefined {
    const q = this.queues[index];
    if (q === undefined || !q.enabled || (this.status & STATUS_NEEDS_RESET) !== 0) return undefined;
    if (q.queue === undefined) {
      try {
        const eventIdx = this.driverFeatures >= 0 && Math.floor(this.driverFeatures / VIRTIO_F_RING_EVENT_IDX) % 2 === 1;
        const indirect = Math.floor(this.driverFeatures / VIRTIO_F_RING_INDIRECT_DESC) % 2 === 1;
        q.queue = new SplitQueue(this.mem, { size: q.size, descTable: q.desc, availRing: q.driver, usedRing: q.device, eventIdx, indirect });
      } catch (e) {
        this.fail(e);
        return undefined;
      }
    }
    return q.queue;
  }

  /** The device found the driver's queue malformed: NEEDS_RESET, config interrupt. */
  fail(e: unknown): void {
    if (!(e instanceof QueueError)) throw e;
    this.status |= STATUS_NEEDS_RESET;
    this.generation = (this.generation + 1) & 0xff;
    this.signal(this.configVector, 2);
  }

  /** Interrupt the driver for queue `index` (if the queue asks for it). */
  interrupt(index: number): void {
    const q = this.queues[index];
    if (q?.queue === undefined || !q.queue.needsInterrupt()) return;
    this.signal(q.vector, 1);
  }

  private signal(vector: number, isrBit: number): void {
    this.isr |= isrBit;
    if (!this.msixEnabled() || vector === NO_VECTOR || vector >= this.msixVectors) return; // INTx not wired
    const e = 16 * vector;
    if ((this.msix[e + 12] as number) & 1) return; // masked
    this.irq.msi(rd(this.msix, e, 4), rd(this.msix, e + 4, 4), rd(this.msix, e + 8, 4));
  }

  private reset(): void {
    this.status = 0;
    this.driverFeatures = 0;
    this.isr = 0;
    this.configVector = NO_VECTOR;
    for (const q of this.queues) Object.assign(q, { size: q.maxSize, vector: NO_VECTOR, enabled: false, desc: 0, driver: 0, device: 0, queue: undefined });
    this.device.reset?.();
  }

  // BAR0 accesses, routed here by the PCI MMIO window (offset within the BAR).
  read(offset: number, data: Uint8Array): void {
    const n = data.length;
    let v = 0;
    if (offset >= COMMON && offset + n <= COMMON + 56) v = this.commonRead(offset - COMMON, n);
    else if (offset === ISR && n === 1) {
      v = this.isr; // reading clears it (§4.1.4.5)
      this.isr = 0;
    } else if (offset >= DEVICE_CFG && offset + n <= DEVICE_CFG + this.device.config.length) v = rd(this.device.config, offset - DEVICE_CFG, n);
    else if (offset >= MSIX_TABLE && offset + n <= MSIX_TABLE + this.msix.length) v = rd(this.msix, offset - MSIX_TABLE, n);
    else if (offset >= MSIX_PBA && offset + n <= MSIX_PBA + 8) v = 0;
    for (let i = 0; i < n; i++) data[i] = Math.floor(v / 256 ** i) & 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    const n = data.length;
    const v = rd(data, 0, n);
    if (offset >= COMMON && offset + n <= COMMON + 56) this.commonWrite(offset - COMMON, n, v);
    else if (offset >= NOTIFY && offset < NOTIFY + 4 * this.queues.length) {
      const index = (offset - NOTIFY) >>> 2;
      if ((this.status & STATUS_DRIVER_OK) !== 0 && (this.status & STATUS_NEEDS_RESET) === 0) {
        try {
          this.device.notify(index, this);
        } catch (e) {
          this.fail(e);
        }
      }
    } else if (offset >= DEVICE_CFG && offset + n <= DEVICE_CFG + this.device.config.length) this.device.configWrite?.(offset - DEVICE_CFG, data.slice());
    else if (offset >= MSIX_TABLE && offset + n <= MSIX_TABLE + this.msix.length) this.msix.set(data, offset - MSIX_TABLE);
  }

  private commonRead(o: number, n: number): number {
    const q = this.queues[this.queueSelect];
    const f = this.offered;
    switch (o) {
      case 0: return this.deviceFeatureSelect;
      case 4: return this.deviceFeatureSelect === 0 ? f % 2 ** 32 : this.deviceFeatureSelect === 1 ? Math.floor(f / 2 ** 32) : 0;
      case 8: return this.driverFeatureSelect;
      case 12: return this.driverFeatureSelect === 0 ? this.driverFeatures % 2 ** 32 : this.driverFeatureSelect === 1 ? Math.floor(this.driverFeatures / 2 ** 32) : 0;
      case 16: return this.configVector;
      case 18: return this.queues.length;
      case 20: return this.status;
      case 21: return this.generation;
      case 22: return this.queueSelect;
      case 24: return q?.size ?? 0;
      case 26: return q?.vector ?? NO_VECTOR;
      case 28: return q?.enabled === true ? 1 : 0;
      case 30: return q !== undefined ? this.queueSelect : 0;
      case 32: return n === 8 ? (q?.desc ?? 0) : (q?.desc ?? 0) % 2 ** 32;
      case 36: return Math.floor((q?.desc ?? 0) / 2 ** 32);
      case 40: return n === 8 ? (q?.driver ?? 0) : (q?.driver ?? 0) % 2 ** 32;
      case 44: return Math.floor((q?.driver ?? 0) / 2 ** 32);
      case 48: return n === 8 ? (q?.device ?? 0) : (q?.device ?? 0) % 2 ** 32;
      case 52: return Math.floor((q?.device ?? 0) / 2 ** 32);
      default: return 0;
    }
  }

  private commonWrite(o: number, n: number, v: number): void {
    const q = this.queues[this.queueSelect];
    const setAddr = (field: 'desc' | 'driver' | 'device', high: boolean): void => {
      if (q === undefined || q.enabled) return;
      const cur = q[field];
      if (n === 8) q[field] = v;
      else if (high) q[field] = (cur % 2 ** 32) + v * 2 ** 32;
      else q[field] = Math.floor(cur / 2 ** 32) * 2 ** 32 + v;
    };
    switch (o) {
      case 0: this.deviceFeatureSelect = v; return;
      case 8: this.driverFeatureSelect = v; return;
      case 12: {
        if ((this.status & STATUS_FEATURES_OK) !== 0) return;
        const lo = this.driverFeatures % 2 ** 32;
        const hi = Math.floor(this.driverFeatures / 2 ** 32);
        // Only features offered can be accepted.
        const offLo = this.offered % 2 ** 32;
        const offHi = Math.floor(this.offered / 2 ** 32);
        if (this.driverFeatureSelect === 0) this.driverFeatures = hi * 2 ** 32 + ((v & offLo) >>> 0);
        else if (this.driverFeatureSelect === 1) this.driverFeatures = ((v & offHi) >>> 0) * 2 ** 32 + lo;
        return;
      }
      case 16: this.configVector = v & 0xffff; return;
      case 20:
        if (v === 0) this.reset();
        else if ((v & STATUS_FEATURES_OK) !== 0 && Math.floor(this.driverFeatures / VIRTIO_F_VERSION_1) % 2 !== 1) this.status = v & ~STATUS_FEATURES_OK; // legacy drivers refused
        else this.status = v & 0xff;
        return;
      case 22: this.queueSelect = v & 0xffff; return;
      case 24:
        if (q !== undefined && !q.enabled && v >= 1 && v <= q.maxSize && (v & (v - 1)) === 0) q.size = v;
        return;
      case 26: if (q !== undefined) q.vector = v & 0xffff; return;
      case 28: if (q !== undefined && v === 1) q.enabled = true; return;
      case 32: setAddr('desc', false); return;
      case 36: setAddr('desc', true); return;
      case 40: setAddr('driver', false); return;
      case 44: setAddr('driver', true); return;
      case 48: setAddr('device', false); return;
      case 52: setAddr('device', true); return;
      default: return;
    }
  }
}
