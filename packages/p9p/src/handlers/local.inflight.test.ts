// LocalFs and the server when a fid goes away while work on it is still running:
// the host fd stays open until that work ends (its number is not handed to another
// open meanwhile), and what a request opened after its connection went away is closed.
import { fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import { duplexPair } from '../channel/pair.js';
import { NOFID, NOTAG } from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import type { Dialect, Fcall } from '../codec/types.js';
import type { Handler } from '../server/handler.js';
import { serve } from '../server/serve.js';
import { LocalFs, type LocalFid } from './local.js';

let root = '';
const MiB = 1 << 20;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'p9p-inflight-'));
  writeFileSync(join(root, 'big'), Buffer.alloc(2 * MiB, 0x41)); // 'A'
  writeFileSync(join(root, 'secret'), Buffer.alloc(2 * MiB, 0x53)); // 'S'
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function opened(fs: LocalFs, name: string, flags: number): LocalFid {
  const rootNode = fs.attach({ aname: '' }).node;
  const w = fs.walk(rootNode, [name]).node as LocalFid;
  return fs.lopen(w, flags).node;
}

describe('LocalFs: clunk while a read or write is in the thread pool', () => {
  it('a 1 MiB read still reads its own file; the fd closes when the read ends', async () => {
    const fs = new LocalFs({ root });
    const o = opened(fs, 'big', 0);
    const fd = o.fd as number;
    const buf = Buffer.alloc(MiB);
    const pending = fs.readInto(o, 0n, buf);
    expect(pending).toBeInstanceOf(Promise); // over 128 KiB: through the pool
    fs.clunk(o);
    expect(o.fd).toBeUndefined(); // the fid is closed for everything after the clunk
    expect(fs.openFiles).toBe(1); // but its fd is not, while the read runs
    expect(() => fstatSync(fd)).not.toThrow();
    // Before the fix the next open took the same number and the read returned the other file.
    const other = opened(fs, 'secret', 0);
    expect(other.fd).not.toBe(fd);
    const n = await pending;
    expect(n).toBe(MiB);
    expect(buf.every((b) => b === 0x41)).toBe(true);
    expect(fs.openFiles).toBe(1);
    fs.clunk(other);
    expect(fs.openFiles).toBe(0);
    fs.close();
  });

  it('a 512 KiB write still lands in its own file, not in the one opened after the clunk', async () => {
    const fs = new LocalFs({ root });
    const o = opened(fs, 'big', 2); // O_RDWR
    const pending = fs.write(o, 0n, Buffer.alloc(512 * 1024, 0x58)); // 'X'
    expect(pending).toBeInstanceOf(Promise);
    fs.clunk(o);
    expect(fs.openFiles).toBe(1); // held until the write ends
    const other = opened(fs, 'secret', 2);
    expect(await pending).toBe(512 * 1024);
    fs.clunk(other);
    expect(readFileSync(join(root, 'secret')).every((b) => b === 0x53)).toBe(true);
    expect(readFileSync(join(root, 'big')).subarray(0, 512 * 1024).every((b) => b === 0x58)).toBe(true);
    expect(fs.openFiles).toBe(0);
    fs.close();
  });

  it('readdir and fsync count as uses too; a failed read still closes the fd', async () => {
    const fs = new LocalFs({ root });
    const d = opened(fs, '.', 0);
    const listing = fs.readdir(d, 0n, 8192);
    fs.clunk(d);
    expect(fs.openFiles).toBe(1);
    expect((await listing).map((e) => e.name).sort()).toEqual(['.', '..', 'big', 'secret']);
    expect(fs.openFiles).toBe(0);
    const o = opened(fs, 'big', 0);
    const sync = fs.fsync(o, 0);
    fs.clunk(o);
    expect(fs.openFiles).toBe(1);
    await sync;
    expect(fs.openFiles).toBe(0);
    const w = opened(fs, 'big', 1); // O_WRONLY: a read fails
    expect(() => fs.readInto(w, 0n, Buffer.alloc(MiB))).toThrow();
    fs.clunk(w);
    expect(fs.openFiles).toBe(0);
    fs.close();
  });
});

/** A raw 9P client over an in-memory pair. */
function raw(handler: Handler<unknown>, dialect: Dialect, opts: { maxInflight?: number; msize?: number } = {}) {
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler, msize: opts.msize ?? 8192, maxInflight: opts.maxInflight });
  const got: Fcall[] = [];
  const ch = new Channel({ stream: a, maxSize: 1 << 20, onFrame: (f) => void got.push(decode(f, dialect)) });
  return { conn, got, send: (m: Fcall) => void ch.send(encode(m, dialect)).catch(() => {}), close: () => ch.close() };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5));
};

describe('serve: a file opened or created while the connection is reset or closed is released', () => {
  for (const how of ['Tversion', 'close'] as const) {
    for (const dialect of ['9P2000.L', '9P2000'] as const) {
      it(`${dialect}: ${dialect === '9P2000.L' ? 'Tlopen and Tlcreate' : 'Topen and Tcreate'} finishing after ${how === 'close' ? 'the connection closed' : 'a Tversion'}`, async () => {
        const fs = new LocalFs({ root });
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        // LocalFs, with lopen and lcreate held at the gate after the host file is open.
        const h: Handler<LocalFid> = {
          attach: (r) => fs.attach(r),
          walk: (n, names) => fs.walk(n, names),
          clunk: (n) => fs.clunk(n),
          getattr: (n) => fs.getattr(n),
          lopen: async (n, flags) => {
            const r = fs.lopen(n, flags);
            await gate;
            return r;
          },
          lcreate: async (d, req) => {
            const r = await fs.lcreate(d, req);
            await gate;
            return r;
          },
        };
        const c = raw(h as Handler<unknown>, dialect);
        c.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: dialect });
        c.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 } as Fcall);
        c.send({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['big'] });
        c.send({ type: 'Twalk', tag: 3, fid: 0, newfid: 2, wnames: [] });
        if (dialect === '9P2000.L') {
          c.send({ type: 'Tlopen', tag: 4, fid: 1, flags: 0 });
          c.send({ type: 'Tlcreate', tag: 5, fid: 2, name: 'new', flags: 2, mode: 0o644, gid: 0 });
        } else {
          c.send({ type: 'Topen', tag: 4, fid: 1, mode: 0 });
          c.send({ type: 'Tcreate', tag: 5, fid: 2, name: 'new', perm: 0o644, mode: 2 });
        }
        await settle();
        expect(fs.openFiles).toBe(2); // both host files are open, their requests held at the gate
        if (how === 'Tversion') c.send({ type: 'Tversion', tag: 7, msize: 8192, version: dialect });
        else c.close();
        await settle();
        open();
        await settle();
        // Before the fix both stayed open for good: a few such connections and every client got EMFILE.
        expect(fs.openFiles).toBe(0);
        if (how === 'Tversion') {
          // The reset answered (with its own tag), and the requests cut short got no reply.
          expect(c.got.filter((m) => m.type === 'Rversion').map((m) => m.tag)).toEqual([NOTAG, 7]);
          expect(c.got.some((m) => m.tag === 4 || m.tag === 5)).toBe(false);
          c.close();
        }
        await c.conn.done;
        fs.close();
      });
    }
  }
});

describe('serve: maxInflight holds across Tversion', () => {
  it('requests a Tversion cancelled count until their handlers end; replies not taken count too', async () => {
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const h: Handler<object> = {
      attach: () => ({ qid: { type: 0x80, version: 0, path: 1n }, node: {} }),
      walk: (n, names) => ({ qids: names.map(() => ({ type: 0, version: 0, path: 2n })), node: n }),
      lopen: () => ({ qid: { type: 0, version: 0, path: 2n }, iounit: 0 }),
      // A read that ignores its abort signal and ends only when released (a slow disk, say).
      read: () => {
        running++;
        peak = Math.max(peak, running);
        return new Promise<Uint8Array>((r) =>
          releases.push(() => {
            running--;
            r(new Uint8Array(10));
          }),
        );
      },
    };
    const c = raw(h as Handler<unknown>, '9P2000.L', { maxInflight: 8 });
    for (let round = 0; round < 20; round++) {
      c.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
      c.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 } as Fcall);
      c.send({ type: 'Tlopen', tag: 2, fid: 0, flags: 0 });
      // 7 reads: with 8 the connection would stop reading before the next Tversion.
      for (let t = 3; t < 10; t++) c.send({ type: 'Tread', tag: t, fid: 0, offset: 0n, count: 10 });
    }
    await settle();
    // Before the fix each Tversion let 7 more reads start: 140 at once.
    expect(peak).toBeLessThanOrEqual(8);
    expect(running).toBeGreaterThanOrEqual(7);
    // As reads end, the connection reads on; in the end every round has run.
    while (releases.length > 0) {
      for (const r of releases.splice(0)) r();
      await settle();
    }
    expect(c.got.filter((m) => m.type === 'Rversion')).toHaveLength(20);
    // The last round's reads are answered; most others were cut short by a Tversion (no reply).
    const rreads = c.got.filter((m) => m.type === 'Rread').length;
    expect(rreads).toBeGreaterThanOrEqual(7);
    expect(rreads).toBeLessThan(140);
    c.close();
    await c.conn.done;
  });
});
