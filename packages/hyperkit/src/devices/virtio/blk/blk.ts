/**
 * virtio-blk on a raw image file (virtio 1.2 §5.2).
 *
 *   struct virtio_blk_req { le32 type; le32 reserved; le64 sector;   (device-readable)
 *                           u8 data[];                               (readable for OUT, writable for IN)
 *                           u8 status; }                             (device-writable, last byte)
 *   VIRTIO_BLK_T_IN 0, T_OUT 1, T_FLUSH 4, T_GET_ID 8, T_DISCARD 11
 *   VIRTIO_BLK_S_OK 0, S_IOERR 1, S_UNSUPP 2
 *   config: le64 capacity (512-byte sectors) @0, le32 size_max @8, le32 seg_max @12,
 *           ... le32 blk_size @20, ... le32 max_discard_sectors @36, le32 max_discard_seg @40,
 *           le32 discard_sector_alignment @44
 *
 * I/O runs through `fs/promises` (libuv's thread pool), never on the vCPU
 * threads nor blocking the main loop; a request completes (used ring,
 * interrupt) when its I/O does.  Every sector range is checked against the
 * image size; a read-only image answers writes and discards with IOERR.
 * Discard punches a hole where the filesystem can (fallocate is not in
 * Node: the range is zeroed instead, which keeps the semantics).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { DescriptorChain } from '../queue.js';
import type { VirtioDevice, VirtioPciTransport } from '../pci.js';

const T_IN = 0;
const T_OUT = 1;
const T_FLUSH = 4;
const T_GET_ID = 8;
const T_DISCARD = 11;
const S_OK = 0;
const S_IOERR = 1;
const S_UNSUPP = 2;
const SECTOR = 512;

const F_SIZE_MAX = 2 ** 1;
const F_SEG_MAX = 2 ** 2;
const F_RO = 2 ** 5;
const F_BLK_SIZE = 2 ** 6;
const F_FLUSH = 2 ** 9;
const F_DISCARD = 2 ** 13;

const SEG_MAX = 126;
const SIZE_MAX = 1 << 20;
/** Requests in flight per device; beyond it the queue is left for later. */
const MAX_INFLIGHT = 64;

export interface BlockOptions {
  path: string;
  readOnly?: boolean;
  /** Serial for GET_ID (at most 20 bytes). */
  serial?: string;
}

export class VirtioBlock implements VirtioDevice {
  readonly deviceId = 2;
  readonly features: number;
  readonly queueSizes = [128];
  readonly config = new Uint8Array(60);
  private inflight = 0;
  private transport: VirtioPciTransport | undefined;
  stats = { reads: 0, writes: 0, flushes: 0, discards: 0, errors: 0 };

  private constructor(
    private readonly file: FileHandle,
    private readonly sectors: number,
    private readonly opts: BlockOptions,
  ) {
    this.features = F_SIZE_MAX + F_SEG_MAX + F_BLK_SIZE + F_FLUSH + (opts.readOnly === true ? F_RO : F_DISCARD);
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(sectors), true);
    dv.setUint32(8, SIZE_MAX, true);
    dv.setUint32(12, SEG_MAX, true);
    dv.setUint32(20, SECTOR, true);
    dv.setUint32(36, 0xffff, true); // max_discard_sectors
    dv.setUint32(40, 1, true); // max_discard_seg
    dv.setUint32(44, 1, true); // discard_sector_alignment
  }

  static async open(opts: BlockOptions): Promise<VirtioBlock> {
    const file = await open(opts.path, opts.readOnly === true ? 'r' : 'r+');
    const { size } = await file.stat();
    return new VirtioBlock(file, Math.floor(size / SECTOR), opts);
  }

  /** Waits for requests in flight (their I/O writes into guest memory), then closes the image. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
    await this.file.close();
  }

  private closing = false;
  private readonly pendingIo = new Set<Promise<unknown>>();

  notify(index: number, t: VirtioPciTransport): void {
    this.transport = t;
    const q = t.queue(index);
    if (q === undefined) return;
    while (this.inflight < MAX_INFLIGHT && !this.closing) {
      const chain = q.pop();
      if (chain === undefined) break;
      this.inflight++;
      const io = this.serve(chain).then(
        ({ status, written }) => this.complete(index, chain, status, written),
        () => this.complete(index, chain, S_IOERR, 0),
      );
      this.pendingIo.add(io);
      void io.finally(() => this.pendingIo.delete(io));
    }
  }

  private complete(index: number, chain: DescriptorChain, status: number, written: number): void {
    this.inflight--;
    const t = this.transport;
    const q = t?.queue(index);
    if (t === undefined || q === undefined || this.closing) return; // reset or closing meanwhile
    const last = chain.writable[chain.writable.length - 1];
    if (last !== undefined && last.length > 0) last[last.length - 1] = status;
    if (status !== S_OK) this.stats.errors++;
    q.pushUsed(chain.head, written + 1);
    t.interrupt(index);
    // Requests left waiting while we were at the in-flight limit.
    if (this.inflight === MAX_INFLIGHT - 1) this.notify(index, t);
  }

  private async serve(chain: DescriptorChain): Promise<{ status: number; written: number }> {
    const header = chain.readable[0];
    const statusBuf = chain.writable[chain.writable.length - 1];
    if (header === undefined || header.length < 16 || statusBuf === undefined || statusBuf.length < 1) return { status: S_IOERR, written: 0 };
    const dv = new DataView(header.buffer, header.byteOffset, 16);
    const type = dv.getUint32(0, true);
    const sector = Number(dv.getBigUint64(8, true));
    // Data buffers: readable ones after the header (OUT), writable ones before the status byte (IN).
    const outData = chain.readable.slice(1);
    const inData = chain.writable.slice(0, -1);
    const statusLast = statusBuf.length > 1 ? statusBuf.subarray(0, statusBuf.length - 1) : undefined;
    if (statusLast !== undefined) inData.push(statusLast); // data and status may share one buffer
    const inRange = (bytes: number): boolean => Number.isSafeInteger(sector) && sector >= 0 && bytes % SECTOR === 0 && sector + bytes / SECTOR <= this.sectors;
    switch (type) {
      case T_IN: {
        const len = inData.reduce((n, b) => n + b.length, 0);
        if (!inRange(len)) return { status: S_IOERR, written: 0 };
        let pos = sector * SECTOR;
        for (const b of inData) {
          const { bytesRead } = await this.file.read(b, 0, b.length, pos);
          if (bytesRead < b.length) b.fill(0, bytesRead);
          pos += b.length;
        }
        this.stats.reads++;
        return { status: S_OK, written: len };
      }
      case T_OUT: {
        if (this.opts.readOnly === true) return { status: S_IOERR, written: 0 };
        const len = outData.reduce((n, b) => n + b.length, 0);
        if (!inRange(len)) return { status: S_IOERR, written: 0 };
        let pos = sector * SECTOR;
        for (const b of outData) {
          await this.file.write(b, 0, b.length, pos);
          pos += b.length;
        }
        this.stats.writes++;
        return { status: S_OK, written: 0 };
      }
      case T_FLUSH:
        if (this.opts.readOnly !== true) await this.file.datasync();
        this.stats.flushes++;
        return { status: S_OK, written: 0 };
      case T_GET_ID: {
        const id = new TextEncoder().encode((this.opts.serial ?? 'kitbox').slice(0, 20));
        const dst = inData[0];
        if (dst === undefined) return { status: S_IOERR, written: 0 };
        dst.fill(0);
        dst.set(id.subarray(0, dst.length));
        return { status: S_OK, written: Math.min(20, dst.length) };
      }
      case T_DISCARD: {
        if (this.opts.readOnly === true) return { status: S_IOERR, written: 0 };
        // struct virtio_blk_discard_write_zeroes { le64 sector; le32 num_sectors; le32 flags; }
        const seg = outData[0];
        if (seg === undefined || seg.length < 16) return { status: S_IOERR, written: 0 };
        const sv = new DataView(seg.buffer, seg.byteOffset, 16);
        const start = Number(sv.getBigUint64(0, true));
        const count = sv.getUint32(8, true);
        if (!Number.isSafeInteger(start) || start + count > this.sectors || count > 0xffff) return { status: S_IOERR, written: 0 };
        await this.file.write(new Uint8Array(count * SECTOR), 0, count * SECTOR, start * SECTOR);
        this.stats.discards++;
        return { status: S_OK, written: 0 };
      }
      default:
        return { status: S_UNSUPP, written: 0 };
    }
  }
}
