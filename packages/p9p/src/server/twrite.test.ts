// Twrites that reach the server split across many stream chunks: handed to the
// handler in pieces (writev) or joined (write), byte-exact either way.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import { duplexPair } from '../channel/pair.js';
import { ERRNO } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';
import { NOFID, NOTAG, P9_DOTL_RDWR } from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import type { Fcall } from '../codec/types.js';
import { LocalFs } from '../handlers/local.js';
import type { LocalFid } from '../handlers/local.js';
import { MemoryFs } from '../handlers/memory.js';
import type { MemoryFid } from '../handlers/memory.js';
import type { Handler } from './handler.js';
import { serve } from './serve.js';

const MSIZE = 1 << 20;

/** Byte equality without vitest's element-by-element deep compare (seconds for a MiB on a busy machine). */
function expectSame(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  expect(Buffer.compare(got, want)).toBe(0);
}

/** Version, attach, and fid 1 opened on a new file `m` (read-write). */
async function createM(c: ReturnType<typeof raw>): Promise<void> {
  expect(await c.request({ type: 'Tversion', tag: NOTAG, msize: MSIZE, version: '9P2000.L' })).toMatchObject({ type: 'Rversion' });
  expect(await c.request({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).toMatchObject({ type: 'Rattach' });
  expect(await c.request({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: [] })).toMatchObject({ type: 'Rwalk' });
  expect(await c.request({ type: 'Tlcreate', tag: 1, fid: 1, name: 'm', flags: P9_DOTL_RDWR, mode: 0o644, gid: 0 })).toMatchObject({ type: 'Rlcreate' });
}

/** A raw client over an in-memory pair: each chunk written arrives at the server as one 'data' chunk. */
function raw(handler: Handler<unknown>) {
  const [a, b] = duplexPair({ highWaterMark: 4 << 20 });
  const conn = serve({ stream: b, handler, msize: MSIZE });
  const got: Fcall[] = [];
  let wake: (() => void) | undefined;
  const ch = new Channel({
    stream: a,
    maxSize: MSIZE,
    onFrame: (f) => {
      got.push(decode(f, '9P2000.L'));
      wake?.();
    },
  });
  let read = 0;
  const next = async (): Promise<Fcall> => {
    while (got.length <= read) await new Promise<void>((r) => (wake = r));
    return got[read++] as Fcall;
  };
  return {
    conn,
    next,
    /** Sends `m` cut at `cuts` (offsets into its frame), one chunk each. */
    sendCut: (m: Fcall | Uint8Array, cuts: number[]) => {
      const f = m instanceof Uint8Array ? m : encode(m, '9P2000.L');
      const ends = [...cuts, f.length];
      let at = 0;
      // A copy per chunk, with its own buffer, as a socket read would give.
      for (const end of ends) {
        a.write(Buffer.from(f.subarray(at, end)));
        at = end;
      }
    },
    request: async (m: Fcall): Promise<Fcall> => {
      await ch.send(encode(m, '9P2000.L'));
      return next();
    },
  };
}

/** Connects, attaches fid 0, walks fid 1 to `name` and opens it read-write. */
async function openFile(c: ReturnType<typeof raw>, name: string): Promise<void> {
  expect(await c.request({ type: 'Tversion', tag: NOTAG, msize: MSIZE, version: '9P2000.L' })).toMatchObject({ type: 'Rversion', msize: MSIZE });
  expect(await c.request({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'root', aname: '', nUname: 0 })).toMatchObject({ type: 'Rattach' });
  expect(await c.request({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: [name] })).toMatchObject({ type: 'Rwalk' });
  expect(await c.request({ type: 'Tlopen', tag: 1, fid: 1, flags: P9_DOTL_RDWR })).toMatchObject({ type: 'Rlopen' });
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 9)) & 0xff;
  return b;
}
/** Offsets cutting a frame of `size` bytes into `n` pieces of uneven sizes, the first holding at least the 23-byte head. */
const cuts = (size: number, n: number): number[] => Array.from({ length: n - 1 }, (_, i) => Math.floor(((i + 1) * size) / n) - (i % 3) * 17).filter((x) => x > 23);

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'p9p-twrite-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Twrite split across stream chunks', () => {
  it('LocalFs writes the pieces at the offset with one writev, byte-exact, bytes around it untouched', async () => {
    const before = pattern(300_000, 1);
    writeFileSync(join(dir, 'f'), before);
    const fs = new LocalFs({ root: dir });
    const calls: number[] = [];
    const writev = fs.writev.bind(fs);
    fs.writev = (fid: LocalFid, offset: bigint, data: readonly Uint8Array[]) => {
      calls.push(data.length);
      return writev(fid, offset, data);
    };
    const c = raw(fs as Handler<unknown>);
    await openFile(c, 'f');
    const data = pattern(200_000, 9);
    const m: Fcall = { type: 'Twrite', tag: 2, fid: 1, offset: 12_345n, data };
    c.sendCut(m, cuts(23 + data.length, 40));
    expect(await c.next()).toEqual({ type: 'Rwrite', tag: 2, count: data.length });
    expect(calls).toEqual([40]);
    const want = Uint8Array.from(before);
    want.set(data, 12_345);
    expectSame(readFileSync(join(dir, 'f')), want);
    // A Twrite past 128 KiB's end is written the same way (through the pool once over 128 KiB).
    const big = pattern(MSIZE - 23, 3);
    c.sendCut({ type: 'Twrite', tag: 3, fid: 1, offset: 100n, data: big }, cuts(MSIZE, 16));
    expect(await c.next()).toEqual({ type: 'Rwrite', tag: 3, count: big.length });
    const after = readFileSync(join(dir, 'f'));
    expect(after.length).toBe(100 + big.length);
    expectSame(after.subarray(100), big);
    expect(Uint8Array.from(after.subarray(0, 100))).toEqual(want.subarray(0, 100));
    c.conn.close();
    await c.conn.done;
    fs.close();
  });

  it('a frame trickled in more pieces than the bound is joined and written with write, byte-exact', async () => {
    writeFileSync(join(dir, 'f'), '');
    const fs = new LocalFs({ root: dir });
    const used: string[] = [];
    const writev = fs.writev.bind(fs);
    const write = fs.write.bind(fs);
    fs.writev = (fid: LocalFid, offset: bigint, data: readonly Uint8Array[]) => (used.push('writev'), writev(fid, offset, data));
    fs.write = (fid: LocalFid, offset: bigint, data: Uint8Array) => (used.push('write'), write(fid, offset, data));
    const c = raw(fs as Handler<unknown>);
    await openFile(c, 'f');
    const data = pattern(30_000, 5);
    c.sendCut({ type: 'Twrite', tag: 2, fid: 1, offset: 7n, data }, cuts(23 + data.length, 500));
    expect(await c.next()).toEqual({ type: 'Rwrite', tag: 2, count: data.length });
    expect(used).toEqual(['write']);
    const got = readFileSync(join(dir, 'f'));
    expectSame(got.subarray(7), data);
    expect([...got.subarray(0, 7)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    c.conn.close();
    await c.conn.done;
    fs.close();
  });

  it('a handler without writev (MemoryFs) gets the pieces joined into one buffer', async () => {
    const mem = new MemoryFs();
    const c = raw(mem as Handler<unknown>);
    await createM(c);
    const data = pattern(150_000, 2);
    c.sendCut({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data }, cuts(23 + data.length, 10));
    expect(await c.next()).toEqual({ type: 'Rwrite', tag: 2, count: data.length });
    const r = await c.request({ type: 'Tread', tag: 3, fid: 1, offset: 0n, count: 200_000 });
    expect(r.type).toBe('Rread');
    expectSame((r as { data: Uint8Array }).data, data);
    c.conn.close();
    await c.conn.done;
  });

  it('answers a short writev with its count, a writev claiming too much with EIO', async () => {
    const mem = new MemoryFs();
    let claim = (n: number) => n - 1000;
    const handler: Handler<unknown> = Object.assign(Object.create(mem) as MemoryFs, {
      writev: (_node: unknown, _offset: bigint, data: readonly Uint8Array[]) => claim(data.reduce((a, p) => a + p.length, 0)),
    }) as Handler<unknown>;
    const c = raw(handler);
    await createM(c);
    const data = pattern(100_000, 4);
    c.sendCut({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data }, cuts(23 + data.length, 5));
    expect(await c.next()).toEqual({ type: 'Rwrite', tag: 2, count: data.length - 1000 });
    claim = (n) => n + 1;
    c.sendCut({ type: 'Twrite', tag: 3, fid: 1, offset: 0n, data }, cuts(23 + data.length, 5));
    expect(await c.next()).toEqual({ type: 'Rlerror', tag: 3, ecode: ERRNO.EIO });
    c.conn.close();
    await c.conn.done;
  });

  it('write and writev answered alike whether they return a count or a promise of one: counts, errors, bad counts, a fid not open', async () => {
    const answers: Fcall[][] = [];
    for (const late of [false, true]) {
      const mem = new MemoryFs();
      let fault: 'none' | 'throw' | 'overclaim' = 'none';
      const answer = (count: () => number): number | Promise<number> => {
        const f = (): number => {
          if (fault === 'throw') throw new RemoteError(ERRNO.ENOSPC);
          return fault === 'overclaim' ? count() + 1 : count();
        };
        return late ? Promise.resolve().then(f) : f();
      };
      const handler = Object.assign(Object.create(mem) as MemoryFs, {
        write: (node: MemoryFid, offset: bigint, data: Uint8Array) => answer(() => mem.write(node, offset, data)),
        writev: (node: MemoryFid, offset: bigint, data: readonly Uint8Array[]) => answer(() => mem.write(node, offset, Buffer.concat(data))),
      }) as Handler<unknown>;
      const c = raw(handler);
      await createM(c);
      const got: Fcall[] = [];
      const small = pattern(5000, 1);
      const split = pattern(40_000, 2);
      // Whole frames go to write, split ones (over 16 KiB) to writev.
      const both = async (tag: number) => {
        got.push(await c.request({ type: 'Twrite', tag, fid: 1, offset: 0n, data: small }));
        c.sendCut({ type: 'Twrite', tag: tag + 1, fid: 1, offset: 10n, data: split }, cuts(23 + split.length, 4));
        got.push(await c.next());
      };
      await both(2);
      fault = 'throw';
      await both(4);
      fault = 'overclaim';
      await both(6);
      fault = 'none';
      expect(await c.request({ type: 'Twalk', tag: 8, fid: 0, newfid: 2, wnames: ['m'] })).toMatchObject({ type: 'Rwalk' });
      got.push(await c.request({ type: 'Twrite', tag: 9, fid: 2, offset: 0n, data: small }));
      const r = await c.request({ type: 'Tread', tag: 10, fid: 1, offset: 0n, count: 100_000 });
      const want = Buffer.concat([small.subarray(0, 10), split]);
      expectSame((r as { data: Uint8Array }).data, want);
      answers.push(got);
      c.conn.close();
      await c.conn.done;
    }
    expect(answers[0]).toEqual([
      { type: 'Rwrite', tag: 2, count: 5000 },
      { type: 'Rwrite', tag: 3, count: 40_000 },
      { type: 'Rlerror', tag: 4, ecode: ERRNO.ENOSPC },
      { type: 'Rlerror', tag: 5, ecode: ERRNO.ENOSPC },
      { type: 'Rlerror', tag: 6, ecode: ERRNO.EIO },
      { type: 'Rlerror', tag: 7, ecode: ERRNO.EIO },
      { type: 'Rlerror', tag: 9, ecode: ERRNO.EBADF },
    ]);
    expect(answers[1]).toEqual(answers[0]);
  });

  it('answers a split Twrite whose count[4] disagrees with its size[4] with EPROTO, and goes on serving', async () => {
    const c = raw(new MemoryFs() as Handler<unknown>);
    expect(await c.request({ type: 'Tversion', tag: NOTAG, msize: MSIZE, version: '9P2000.L' })).toMatchObject({ type: 'Rversion' });
    for (const delta of [-1, 1]) {
      const f = encode({ type: 'Twrite', tag: 7, fid: 1, offset: 0n, data: pattern(50_000, 1) }, '9P2000.L');
      f.set([(50_000 + delta) & 0xff, ((50_000 + delta) >> 8) & 0xff, 0, 0], 19); // count[4]
      c.sendCut(f, [1000, 30_000]);
      expect(await c.next()).toEqual({ type: 'Rlerror', tag: 7, ecode: ERRNO.EPROTO });
    }
    expect(await c.request({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).toMatchObject({ type: 'Rattach' });
    c.conn.close();
    await c.conn.done;
  });
});
