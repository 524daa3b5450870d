import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../memory/guest-memory.js';
import { VirtioPciTransport } from '../pci.js';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../queue.js';
import { VirtioBlock } from './blk.js';

const dir = mkdtempSync(join(tmpdir(), 'hyperkit-blk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A driver for one queue: builds header + data + status chains and waits for completion. */
async function rig(opts: { readOnly?: boolean } = {}) {
  const img = join(dir, `disk-${Math.random().toString(36).slice(2)}.img`);
  const init = new Uint8Array(64 * 512);
  init.set(new TextEncoder().encode('SECTOR-3'), 3 * 512);
  writeFileSync(img, init);
  const bytes = new Uint8Array(1 << 20);
  const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes }]);
  const dv = new DataView(bytes.buffer);
  const blk = await VirtioBlock.open({ path: img, ...opts });
  const t = new VirtioPciTransport(blk, mem, { msi: () => undefined });
  const w = (off: number, n: number, v: number): void => t.write(off, Uint8Array.from({ length: n }, (_, i) => Math.floor(v / 256 ** i) & 0xff));
  w(8, 4, 1);
  w(12, 4, 1);
  w(20, 1, 1 | 2 | 8);
  w(22, 2, 0);
  w(24, 2, 16);
  w(32, 4, 0x10000);
  w(40, 4, 0x11000);
  w(48, 4, 0x12000);
  w(28, 2, 1);
  w(20, 1, 15);
  let avail = 0;
  let req = 0;
  /** Submit one request: [header][data?][status]; resolves with the status byte. */
  const submit = async (type: number, sector: number, data: { len: number; write: boolean; fill?: Uint8Array } | undefined): Promise<{ status: number; data: Uint8Array }> => {
    const base = 0x20000 + req * 0x3000;
    const d0 = (req * 3) % 16;
    req++;
    dv.setUint32(base, type, true);
    dv.setBigUint64(base + 8, BigInt(sector), true);
    const desc = (i: number, addr: number, len: number, flags: number, next: number): void => {
      dv.setBigUint64(0x10000 + 16 * i, BigInt(addr), true);
      dv.setUint32(0x10000 + 16 * i + 8, len, true);
      dv.setUint16(0x10000 + 16 * i + 12, flags, true);
      dv.setUint16(0x10000 + 16 * i + 14, next, true);
    };
    const ids = [d0, (d0 + 1) % 16, (d0 + 2) % 16] as const;
    desc(ids[0], base, 16, VIRTQ_DESC_F_NEXT, data ? ids[1] : ids[2]);
    if (data) {
      if (data.fill) bytes.set(data.fill, base + 0x100);
      desc(ids[1], base + 0x100, data.len, VIRTQ_DESC_F_NEXT | (data.write ? VIRTQ_DESC_F_WRITE : 0), ids[2]);
    }
    bytes[base + 0x2fff] = 0xee;
    desc(ids[2], base + 0x2fff, 1, VIRTQ_DESC_F_WRITE, 0);
    dv.setUint16(0x11004 + 2 * (avail % 16), ids[0], true);
    avail++;
    dv.setUint16(0x11002, avail, true);
    const used = dv.getUint16(0x12002, true);
    w(0x3000, 2, 0);
    for (let i = 0; i < 200 && dv.getUint16(0x12002, true) === used; i++) await new Promise((r) => setTimeout(r, 5));
    return { status: bytes[base + 0x2fff] as number, data: bytes.slice(base + 0x100, base + 0x100 + (data?.len ?? 0)) };
  };
  return { blk, img, submit };
}

describe('virtio-blk on a raw image', () => {
  it('reads, writes, flushes, discards and answers GET_ID; the file holds what was written', async () => {
    const { blk, img, submit } = await rig();
    expect(new TextDecoder().decode((await submit(0, 3, { len: 512, write: true })).data.subarray(0, 8))).toBe('SECTOR-3');
    const pattern = new Uint8Array(1024).map((_, i) => i & 0xff);
    expect((await submit(1, 10, { len: 1024, write: false, fill: pattern })).status).toBe(0);
    expect((await submit(4, 0, undefined)).status).toBe(0);
    const id = await submit(8, 0, { len: 20, write: true });
    expect(new TextDecoder().decode(id.data).replace(/\0+$/, '')).toBe('kitbox');
    const seg = new Uint8Array(16);
    new DataView(seg.buffer).setBigUint64(0, 3n, true);
    new DataView(seg.buffer).setUint32(8, 1, true);
    expect((await submit(11, 0, { len: 16, write: false, fill: seg })).status).toBe(0);
    await blk.close();
    const file = readFileSync(img);
    expect(file.subarray(10 * 512, 12 * 512)).toEqual(Buffer.from(pattern));
    expect(file.subarray(3 * 512, 4 * 512).every((b) => b === 0)).toBe(true);
    expect(blk.stats).toMatchObject({ reads: 1, writes: 1, flushes: 1, discards: 1 });
  });

  it('refuses ranges past the end, unknown requests, and writes to a read-only image', async () => {
    const { blk, submit } = await rig();
    expect((await submit(0, 63, { len: 1024, write: true })).status).toBe(1); // past the end
    expect((await submit(0, 2 ** 60, { len: 512, write: true })).status).toBe(1);
    expect((await submit(0, 1, { len: 100, write: true })).status).toBe(1); // not whole sectors
    expect((await submit(99, 0, undefined)).status).toBe(2); // UNSUPP
    await blk.close();
    const ro = await rig({ readOnly: true });
    expect((await ro.submit(1, 0, { len: 512, write: false, fill: new Uint8Array(512).fill(7) })).status).toBe(1);
    expect((await ro.submit(0, 0, { len: 512, write: true })).status).toBe(0);
    await ro.blk.close();
  });
});
