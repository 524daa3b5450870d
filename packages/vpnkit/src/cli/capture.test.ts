/**
 * `--pcap FILE` writing: bounded when the file cannot keep up, stopped (not
 * crashed) by a write error, and every record whole.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { PCAP_MAGIC } from '../testing/pcap.js';
import { CaptureFile } from './capture.js';

const dir = mkdtempSync(join(tmpdir(), 'vpnkit-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number, len = 1514): Uint8Array => new Uint8Array(len).fill(n & 0xff);

describe('CaptureFile', () => {
  it('writes a pcap whose records are all there and whole', async () => {
    const path = join(dir, 'a.pcap');
    const f = await CaptureFile.open(path);
    for (let i = 0; i < 1000; i++) f.record(frame(i, 60 + (i % 1455)), 1_700_000_000_000 + i);
    const s = await f.close();
    expect(s).toEqual({ frames: 1000, dropped: 0, error: undefined });
    const b = readFileSync(path);
    expect(b.readUInt32LE(0)).toBe(PCAP_MAGIC);
    let off = 24;
    let n = 0;
    while (off < b.length) {
      const incl = b.readUInt32LE(off + 8);
      expect(incl).toBe(60 + (n % 1455));
      expect(b[off + 16]).toBe(n & 0xff);
      off += 16 + incl;
      n++;
    }
    expect(off).toBe(b.length);
    expect(n).toBe(1000);
  });

  it('drops whole frames, and counts them, while the file is behind by maxQueued bytes', async () => {
    // A file that takes nothing until released.
    const held: Array<() => void> = [];
    const chunks: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        held.push(() => cb());
      },
    });
    const f = new CaptureFile(out, 256 * 1024);
    for (let i = 0; i < 100_000; i++) f.record(frame(i));
    const s = f.stats();
    // Without the bound all 100,000 (~153 MB) would sit in memory.
    expect(out.writableLength).toBeLessThanOrEqual(256 * 1024 + 16 + 1514);
    expect(s.frames).toBeLessThan(200);
    expect(s.frames + s.dropped).toBe(100_000);
    // The file catches up: recording resumes.
    while (held.length > 0) (held.shift() as () => void)();
    await new Promise((r) => setImmediate(r));
    f.record(frame(1));
    expect(f.stats().frames).toBe(s.frames + 1);
    const closed = f.close();
    const drain = setInterval(() => {
      while (held.length > 0) (held.shift() as () => void)();
    }, 1);
    expect((await closed).dropped).toBe(s.dropped);
    clearInterval(drain);
    // Header + whole records only.
    expect(Buffer.concat(chunks).length).toBe(24 + (s.frames + 1) * (16 + 1514));
  });

  it('a write error stops the capture, reported once, without throwing', async () => {
    const errors: Error[] = [];
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      },
    });
    const f = new CaptureFile(out, undefined, (e) => errors.push(e));
    expect(() => {
      for (let i = 0; i < 1000; i++) f.record(frame(i));
    }).not.toThrow();
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10; i++) f.record(frame(i));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('ENOSPC');
    const s = await f.close();
    expect(s.error?.message).toContain('ENOSPC');
    expect(s.dropped).toBeGreaterThanOrEqual(10);
  });

  it('a file that cannot be opened is an error', async () => {
    await expect(CaptureFile.open(join(dir, 'no-such-dir', 'x.pcap'))).rejects.toThrow(/ENOENT/);
  });
});
