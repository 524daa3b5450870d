// The server with the in-memory handler, driven by the client and by raw frames.
import { describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import type { RemoteError } from '../channel/errors.js';
import { AbortError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { Session } from '../client/session.js';
import { createReadStream, createWriteStream } from '../client/streams.js';
import { NOFID, NOTAG, P9_DOTL_RDONLY } from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import type { Fcall } from '../codec/types.js';
import { MemoryFs } from '../handlers/memory.js';
import type { MemoryFid } from '../handlers/memory.js';
import type { Handler } from './handler.js';
import { serve } from './serve.js';
import type { ServerConnection } from './serve.js';
import { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

async function pair(handler: Handler<never> | MemoryFs, opts: { msize?: number; maxFids?: number } = {}): Promise<{ s: Session; conn: ServerConnection }> {
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler: handler as Handler<unknown>, maxFids: opts.maxFids });
  const s = await Session.connect({ stream: a, msize: opts.msize ?? 8192, uname: 'u', nUname: 1000 });
  return { s, conn };
}

/** A raw client: frames in, decoded replies out. */
function raw(handler: Handler<unknown>, opts: { maxFids?: number } = {}) {
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler, maxFids: opts.maxFids, msize: 8192 });
  const got: Fcall[] = [];
  let wake: (() => void) | undefined;
  const ch = new Channel({
    stream: a,
    maxSize: 1 << 20,
    onFrame: (f) => {
      got.push(decode(f, '9P2000.L'));
      wake?.();
    },
  });
  let read = 0;
  return {
    conn,
    ch,
    send: (m: Fcall) => void ch.send(encode(m, '9P2000.L')).catch(() => {}),
    sendRaw: (b: Uint8Array) => void ch.send(b).catch(() => {}),
    next: async (): Promise<Fcall> => {
      while (got.length <= read) await new Promise<void>((r) => (wake = r));
      return got[read++] as Fcall;
    },
  };
}

describe('serve + MemoryFs through the client', () => {
  it('round-trips every helper', async () => {
    const fs = new MemoryFs();
    const { s, conn } = await pair(fs);
    expect(s.dialect).toBe('9P2000.L');
    expect(conn.msize).toBe(8192);
    const data = new Uint8Array(50_000).map((_, i) => i % 251);
    await s.mkdir({ path: 'dir' });
    await s.writeFile({ path: 'dir/f.bin', data });
    expect(Buffer.from(await s.readFile({ path: 'dir/f.bin' })).equals(Buffer.from(data))).toBe(true);
    const st = await s.stat({ path: 'dir/f.bin' });
    expect(st.size).toBe(50_000n);
    expect(st.mode & 0o170000).toBe(0o100000);
    await s.setattr({ path: 'dir/f.bin', mode: 0o600, size: 10, mtime: new Date(1_000_000) });
    const st2 = await s.stat({ path: 'dir/f.bin' });
    expect([st2.size, st2.mode & 0o7777, st2.mtimeSec]).toEqual([10n, 0o600, 1000n]);
    await s.symlink({ path: 'dir/l', target: 'f.bin' });
    expect(await s.readlink({ path: 'dir/l' })).toBe('f.bin');
    await s.rename({ from: 'dir/f.bin', to: 'g.bin' });
    expect(fs.lookup('g.bin')?.kind).toBe('file');
    expect((await s.readdir({ path: 'dir' })).map((e) => e.name)).toEqual(['.', '..', 'l']);
    await s.remove({ path: 'dir/l' });
    await s.remove({ path: 'dir' });
    expect(fs.lookup('dir')).toBeUndefined();
    const sf = await s.statfs({});
    expect(sf.bsize).toBe(4096);
    const f = await s.create({ path: 'c.txt', mode: 0o600 });
    await f.write({ offset: 0, data: new TextEncoder().encode('created') });
    await f.close();
    expect(new TextDecoder().decode(await s.readFile({ path: 'c.txt' }))).toBe('created');
    const deep = Array.from({ length: 40 }, (_, i) => `d${i}`);
    for (let i = 1; i <= deep.length; i++) await s.mkdir({ path: deep.slice(0, i).join('/') });
    const w = await s.walk({ path: deep.join('/') });
    expect(w.qid?.type).toBe(0x80);
    await w.clunk();
    expect((await s.walk({ path: [...deep.slice(0, 20), 'x', 'y'].join('/') }).catch((e: unknown) => e)) as RemoteError).toMatchObject({ code: 'ENOENT' });
    await pipeline(Readable.from([Buffer.alloc(30_000, 1)]), createWriteStream({ session: s, path: 'st' }));
    let total = 0;
    for await (const c of createReadStream({ session: s, path: 'st' })) total += (c as Buffer).length;
    expect(total).toBe(30_000);
    expect(s.fidsInUse).toBe(1);
    expect(conn.fidCount).toBe(1);
    await s.close();
    await conn.done;
    expect(conn.fidCount).toBe(0);
  });

  it('answers errors with the right errno', async () => {
    const { s } = await pair(new MemoryFs());
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as RemoteError).code);
    expect(await code(s.readFile({ path: 'none' }))).toBe('ENOENT');
    await s.mkdir({ path: 'd' });
    await s.writeFile({ path: 'd/x', data: new Uint8Array(1) });
    expect(await code(s.mkdir({ path: 'd' }))).toBe('EEXIST');
    expect(await code(s.remove({ path: 'd' }))).toBe('ENOTEMPTY');
    expect(await code(s.readFile({ path: 'd' }))).toBe('EISDIR');
    expect(await code(s.walk({ path: 'd/x/y' }))).toBe('ENOENT');
    expect(await code(s.readlink({ path: 'd/x' }))).toBe('EINVAL');
    expect(await code(s.rename({ from: 'd', to: 'd/x/z' }))).toBe('ENOTDIR');
    await s.close();
  });

  it('bounds the memory tree', async () => {
    const { s } = await pair(new MemoryFs({ maxBytes: 10_000, maxNodes: 3 }));
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as RemoteError).code);
    expect(await code(s.writeFile({ path: 'a', data: new Uint8Array(20_000) }))).toMatch(/EFBIG|ENOSPC/);
    await s.mkdir({ path: 'b' });
    expect(await code(s.mkdir({ path: 'c' }))).toBe('ENOSPC');
    await s.close();
  });

  it('answers EOPNOTSUPP for what a handler lacks, ENOENT to Tauth', async () => {
    const minimal: Handler<string> = {
      attach: () => ({ qid: { type: 0x80, version: 0, path: 1n }, node: 'root' }),
      walk: (_n, names) => ({ qids: names.map(() => ({ type: 0, version: 0, path: 2n })), node: 'x' }),
    };
    const { s } = await pair(minimal as unknown as Handler<never>);
    await expect(s.stat({ path: '' })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(s.rpc({ type: 'Tauth', afid: 1, uname: '', aname: '', nUname: 0 })).rejects.toMatchObject({ code: 'ENOENT' });
    await s.close();
  });
});

describe('serve: protocol rules', () => {
  function blocking(): { handler: Handler<MemoryFid>; release: () => void; started: Promise<void> } {
    const fs = new MemoryFs();
    fs.writeFile('f', 'data');
    let release!: () => void;
    let started!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const startedP = new Promise<void>((r) => (started = r));
    const handler: Handler<MemoryFid> = Object.assign(Object.create(fs) as MemoryFs, {
      async readlink(_n: MemoryFid, ctx: { signal: AbortSignal }): Promise<string> {
        started();
        await Promise.race([gate, new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new AbortError())))]);
        return 'target';
      },
    });
    return { handler, release, started: startedP };
  }

  it('Tflush: aborts the request, sends no reply to it, then Rflush', async () => {
    const b = blocking();
    const r = raw(b.handler as Handler<unknown>);
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
    expect(await r.next()).toMatchObject({ type: 'Rversion', version: '9P2000.L' });
    r.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    expect((await r.next()).type).toBe('Rattach');
    r.send({ type: 'Treadlink', tag: 2, fid: 0 });
    await b.started;
    r.send({ type: 'Tflush', tag: 3, oldtag: 2 });
    expect(await r.next()).toEqual({ type: 'Rflush', tag: 3 });
    // Unknown oldtag: Rflush at once.
    r.send({ type: 'Tflush', tag: 4, oldtag: 99 });
    expect(await r.next()).toEqual({ type: 'Rflush', tag: 4 });
    await new Promise((res) => setTimeout(res, 5));
    expect(r.conn.inFlight).toBe(0);
    r.ch.close();
  });

  it('Tflush of a request that completes anyway: its reply, then Rflush', async () => {
    const fs = new MemoryFs();
    let finish!: () => void;
    const gate = new Promise<void>((res) => (finish = res));
    const handler = Object.assign(Object.create(fs) as MemoryFs, {
      async statfs() {
        await gate; // ignores the abort
        return fs.statfs();
      },
    });
    const r = raw(handler as Handler<unknown>);
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
    await r.next();
    r.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    await r.next();
    r.send({ type: 'Tstatfs', tag: 2, fid: 0 });
    r.send({ type: 'Tflush', tag: 3, oldtag: 2 });
    await new Promise((res) => setTimeout(res, 10));
    finish();
    expect((await r.next()).type).toBe('Rstatfs');
    expect(await r.next()).toEqual({ type: 'Rflush', tag: 3 });
    r.ch.close();
  });

  it('client abort against the server: AbortError and the tag freed', async () => {
    const b = blocking();
    const { s } = await pair(b.handler as Handler<never>);
    const ac = new AbortController();
    const p = s.readlink({ path: 'f', signal: ac.signal });
    await b.started;
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(s.inFlight).toBe(0);
    expect(s.fidsInUse).toBe(1);
    await s.close();
  });

  it('bounds the fid table (EMFILE) and empties it when the connection drops', async () => {
    let clunked = 0;
    const fs = new MemoryFs();
    const handler = Object.assign(Object.create(fs) as MemoryFs, { clunk: () => void clunked++ });
    const r = raw(handler as Handler<unknown>, { maxFids: 3 });
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
    await r.next();
    r.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    await r.next();
    for (let i = 1; i <= 3; i++) r.send({ type: 'Twalk', tag: 10 + i, fid: 0, newfid: i, wnames: [] });
    const replies = [await r.next(), await r.next(), await r.next()].sort((x, y) => x.tag - y.tag);
    expect(replies.map((m) => m.type)).toEqual(['Rwalk', 'Rwalk', 'Rlerror']);
    expect(replies[2]).toMatchObject({ ecode: 24 });
    r.send({ type: 'Twalk', tag: 20, fid: 0, newfid: 1, wnames: [] });
    expect(await r.next()).toMatchObject({ type: 'Rlerror', ecode: 9 });
    expect(r.conn.fidCount).toBe(3);
    expect(r.conn.fidHighWater).toBeLessThanOrEqual(3);
    r.ch.close();
    await r.conn.done;
    expect(r.conn.fidCount).toBe(0);
    expect(clunked).toBe(3);
  });

  it('answers a malformed frame with Rlerror(EPROTO) and closes on a bad size', async () => {
    const r = raw(new MemoryFs() as Handler<unknown>);
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
    await r.next();
    // A Tclunk with a trailing byte.
    r.sendRaw(Uint8Array.of(12, 0, 0, 0, 120, 5, 0, 1, 0, 0, 0, 0));
    expect(await r.next()).toEqual({ type: 'Rlerror', tag: 5, ecode: 71 });
    // An unknown type.
    r.sendRaw(Uint8Array.of(7, 0, 0, 0, 200, 6, 0));
    expect(await r.next()).toEqual({ type: 'Rlerror', tag: 6, ecode: 71 });
    r.sendRaw(Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
    expect((await r.conn.done).reason).toBe('frame-too-large');
  });

  it('version: unknown dialects, msize capped, requests before Tversion refused', async () => {
    const r = raw(new MemoryFs() as Handler<unknown>);
    r.send({ type: 'Tclunk', tag: 1, fid: 0 });
    expect(await r.next()).toMatchObject({ type: 'Rlerror', ecode: 71 });
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P3000' });
    expect(await r.next()).toMatchObject({ type: 'Rversion', version: 'unknown' });
    // Still not negotiated: requests are refused.
    r.send({ type: 'Tclunk', tag: 1, fid: 0 });
    expect(await r.next()).toMatchObject({ type: 'Rlerror', ecode: 71 });
    r.send({ type: 'Tversion', tag: NOTAG, msize: 1 << 24, version: '9P2000.L' });
    expect(await r.next()).toMatchObject({ type: 'Rversion', version: '9P2000.L', msize: 8192 });
    r.ch.close();
  });

  it('stops reading from a client that does not read its replies', async () => {
    const [a, b] = duplexPair({ highWaterMark: 4096 });
    const conn = serve({ stream: b, handler: new MemoryFs(), maxInflight: 8, msize: 8192 });
    a.write(encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' }, '9P2000.L'));
    a.write(encode({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 }, '9P2000.L'));
    let accepted = 0;
    let maxInFlight = 0;
    for (let i = 0; i < 20_000; i++) {
      const ok = a.write(encode({ type: 'Tgetattr', tag: 2 + (i % 60000), fid: 0, requestMask: 0x3fffn }, '9P2000.L'));
      accepted++;
      maxInFlight = Math.max(maxInFlight, conn.inFlight);
      if (!ok) {
        const drained = await Promise.race([
          new Promise((r) => a.once('drain', () => r(true))),
          new Promise((r) => setTimeout(() => r(false), 50)),
        ]);
        if (!drained) break;
      }
    }
    // The server stopped reading long before 20,000 requests, with at most 8 in flight.
    expect(accepted).toBeLessThan(20_000);
    expect(maxInFlight).toBeLessThanOrEqual(8);
    expect(conn.inFlight).toBeLessThanOrEqual(8);
    a.destroy();
    await conn.done;
    expect(conn.fidCount).toBe(0);
  });

  it('many requests in flight complete out of order', async () => {
    const fs = new MemoryFs();
    for (let i = 0; i < 50; i++) fs.writeFile(`f${i}`, `content ${i}`);
    const { s } = await pair(fs);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => s.readFile({ path: `f${i}` })));
    expect(all.map((d) => new TextDecoder().decode(d))).toEqual(Array.from({ length: 50 }, (_, i) => `content ${i}`));
    const f = await s.open({ path: 'f1', flags: P9_DOTL_RDONLY });
    await f.close();
    await s.close();
  });
});

/**
 * A connection end that records how the server writes: one entry per call
 * to the stream (`_write` or `_writev`), with the frames it carried. The
 * test feeds requests with `push`.
 */
class Recorder extends Duplex {
  readonly calls: Fcall[][] = [];
  readonly log: string[];

  constructor(log: string[] = []) {
    super();
    this.log = log;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.record([chunk]);
    cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.record(chunks.map((c) => c.chunk));
    cb();
  }

  private record(frames: Buffer[]): void {
    const msgs = frames.map((f) => decode(f, '9P2000.L'));
    this.calls.push(msgs);
    for (const m of msgs) this.log.push(`write ${m.tag}`);
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const frames = (...ms: Fcall[]): Buffer => Buffer.concat(ms.map((m) => encode(m, '9P2000.L')));
const hello = frames(
  { type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' },
  { type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 },
);

describe('reply batching', () => {
  it('with several connections open, writes the replies ready in one event-loop turn together, in one writev', async () => {
    const rec = new Recorder();
    const conn = serve({ stream: rec, handler: new MemoryFs() });
    const other = new Recorder();
    const idle = serve({ stream: other, handler: new MemoryFs() });
    rec.push(hello);
    await turn();
    await turn();
    rec.calls.length = 0;
    // Four requests in one chunk: every reply is ready within this turn.
    rec.push(
      frames(
        { type: 'Twalk', tag: 10, fid: 0, newfid: 1, wnames: [] },
        { type: 'Tgetattr', tag: 11, fid: 0, requestMask: 0x3fffn },
        { type: 'Tclunk', tag: 12, fid: 99 },
        { type: 'Twalk', tag: 13, fid: 0, newfid: 2, wnames: [] },
      ),
    );
    await turn();
    await turn();
    // One call to the stream; the replies in the order the requests finished (the error first: it needed no handler).
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]!.map((m) => `${m.type} ${m.tag}`).sort()).toEqual(['Rgetattr 11', 'Rlerror 12', 'Rwalk 10', 'Rwalk 13']);
    expect(conn.fidCount).toBe(3);
    rec.destroy();
    other.destroy();
    await Promise.all([conn.done, idle.done]);
  });

  it('with one connection, writes its replies once the microtasks of the callback have run, before the next turn', async () => {
    const rec = new Recorder();
    const conn = serve({ stream: rec, handler: new MemoryFs() });
    rec.push(hello);
    await turn();
    await turn();
    rec.calls.length = 0;
    let writtenBeforeNextTurn = -1;
    setImmediate(() => (writtenBeforeNextTurn = rec.calls.flat().length));
    rec.push(
      frames(
        { type: 'Twalk', tag: 10, fid: 0, newfid: 1, wnames: [] },
        { type: 'Tgetattr', tag: 11, fid: 0, requestMask: 0x3fffn },
        { type: 'Tclunk', tag: 12, fid: 1 },
      ),
    );
    await turn();
    await turn();
    expect(writtenBeforeNextTurn).toBe(3);
    expect(rec.calls.flat().map((m) => m.tag).sort()).toEqual([10, 11, 12]);
    rec.destroy();
    await conn.done;
  });

  it('holds replies until the end of the turn, so requests of other connections are handled first', async () => {
    const log: string[] = [];
    const fs = new MemoryFs();
    const handler: Handler<MemoryFid> = {
      attach: () => fs.attach(),
      walk: (node, names) => {
        log.push(`walk ${names[0] ?? ''}`);
        return fs.walk(node, names);
      },
    };
    const a = new Recorder(log);
    const b = new Recorder(log);
    const ca = serve({ stream: a, handler: handler as Handler<unknown> });
    const cb = serve({ stream: b, handler: handler as Handler<unknown> });
    a.push(hello);
    b.push(hello);
    await turn();
    await turn();
    log.length = 0;
    fs.writeFile('x', 'x');
    fs.writeFile('y', 'y');
    a.push(frames({ type: 'Twalk', tag: 20, fid: 0, newfid: 1, wnames: ['x'] }));
    // Every microtask of a's request has run (before batching, its reply was written by now).
    for (let i = 0; i < 20; i++) await Promise.resolve();
    b.push(frames({ type: 'Twalk', tag: 21, fid: 0, newfid: 1, wnames: ['y'] }));
    await turn();
    await turn();
    expect(log).toEqual(['walk x', 'walk y', 'write 20', 'write 21']);
    a.destroy();
    b.destroy();
    await Promise.all([ca.done, cb.done]);
  });

  it('offers at most maxInflight replies at once: a longer burst is written in parts, every request answered', async () => {
    const rec = new Recorder();
    const conn = serve({ stream: rec, handler: new MemoryFs(), maxInflight: 4 });
    rec.push(hello);
    await turn();
    await turn();
    rec.calls.length = 0;
    rec.push(frames(...Array.from({ length: 50 }, (_, i): Fcall => ({ type: 'Tclunk', tag: 100 + i, fid: 1000 + i }))));
    for (let i = 0; i < 10 && rec.calls.flat().length < 50; i++) await turn();
    const replies = rec.calls.flat();
    expect(replies.map((m) => m.tag)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    expect(replies.every((m) => m.type === 'Rlerror')).toBe(true);
    expect(Math.max(...rec.calls.map((c) => c.length))).toBeLessThanOrEqual(4);
    rec.destroy();
    await conn.done;
  });
});

describe('serve: requests naming one fid run in arrival order (pipelining)', () => {
  /** MemoryFs whose walk waits for `release()`; counts lopen calls. */
  function slowWalk(): { handler: Handler<unknown>; release: () => void; walking: Promise<void>; opened: () => number } {
    const fs = new MemoryFs();
    fs.writeFile('f', 'pipelined');
    let release!: () => void;
    let walking!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const walkingP = new Promise<void>((r) => (walking = r));
    let opened = 0;
    const handler = Object.assign(Object.create(fs) as MemoryFs, {
      async walk(n: MemoryFid, names: readonly string[]) {
        walking();
        await gate;
        return fs.walk(n, names);
      },
      lopen(n: MemoryFid, flags: number) {
        opened++;
        return fs.lopen(n, flags);
      },
    });
    return { handler: handler as Handler<unknown>, release, walking: walkingP, opened: () => opened };
  }

  async function attached(handler: Handler<unknown>) {
    const r = raw(handler);
    r.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
    await r.next();
    r.send({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    await r.next();
    return r;
  }

  /** Twalk (tag 2) from the root to fid 1 through a walk that waits, and Tlopen (tag 3) of fid 1 behind it. */
  async function behindSlowWalk(wname = 'f') {
    const w = slowWalk();
    const r = await attached(w.handler);
    r.send({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [wname] });
    r.send({ type: 'Tlopen', tag: 3, fid: 1, flags: P9_DOTL_RDONLY });
    await w.walking;
    return { w, r };
  }

  it('walk, lopen, read, clunk sent at once behind a slow walk: answered in order; other fids are not held up', async () => {
    const { w, r } = await behindSlowWalk();
    r.send({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100 });
    r.send({ type: 'Tclunk', tag: 5, fid: 1 });
    await new Promise((res) => setTimeout(res, 5));
    // A request on the root (which the walk only uses) runs meanwhile.
    r.send({ type: 'Tgetattr', tag: 6, fid: 0, requestMask: 0x7ffn });
    expect(await r.next()).toMatchObject({ type: 'Rgetattr', tag: 6 });
    expect(r.conn.inFlight).toBe(4);
    expect(w.opened()).toBe(0);
    w.release();
    const replies = [await r.next(), await r.next(), await r.next(), await r.next()];
    expect(replies.map((m) => [m.type, m.tag])).toEqual([
      ['Rwalk', 2],
      ['Rlopen', 3],
      ['Rread', 4],
      ['Rclunk', 5],
    ]);
    expect(new TextDecoder().decode((replies[2] as Extract<Fcall, { type: 'Rread' }>).data)).toBe('pipelined');
    expect(r.conn.fidCount).toBe(1);
    expect(r.conn.inFlight).toBe(0);
    r.ch.close();
    await r.conn.done;
  });

  it('a Tclunk sent while a read that started at once is blocked (a long poll) is answered, not held behind it', async () => {
    const fs = new MemoryFs();
    fs.writeFile('f', 'x');
    let reading!: () => void;
    const readingP = new Promise<void>((r) => (reading = r));
    const handler = Object.assign(Object.create(fs) as MemoryFs, {
      // Blocks until flushed, like a stream file with nothing new.
      read(_n: MemoryFid, _offset: bigint, _count: number, signal?: AbortSignal) {
        reading();
        return new Promise<Uint8Array>((_res, rej) => signal?.addEventListener('abort', () => rej(new Error('aborted'))));
      },
    });
    const r = await attached(handler as Handler<unknown>);
    r.send({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['f'] });
    expect(await r.next()).toMatchObject({ type: 'Rwalk', tag: 2 });
    r.send({ type: 'Tlopen', tag: 3, fid: 1, flags: P9_DOTL_RDONLY });
    expect(await r.next()).toMatchObject({ type: 'Rlopen', tag: 3 });
    r.send({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100 });
    await readingP;
    r.send({ type: 'Tclunk', tag: 5, fid: 1 });
    expect(await r.next()).toEqual({ type: 'Rclunk', tag: 5 });
    // The read, its fid gone, ends (answered with an error or flushed); the flush is answered.
    r.send({ type: 'Tflush', tag: 6, oldtag: 4 });
    let m = await r.next();
    if (m.tag === 4) m = await r.next();
    expect(m).toEqual({ type: 'Rflush', tag: 6 });
    expect(r.conn.fidCount).toBe(1);
    r.ch.close();
    await r.conn.done;
  });

  it('a walk that fails: the requests queued behind it fail EBADF, no fid is left', async () => {
    const { w, r } = await behindSlowWalk('missing');
    r.send({ type: 'Tclunk', tag: 4, fid: 1 });
    await new Promise((res) => setTimeout(res, 5));
    w.release();
    const replies = [await r.next(), await r.next(), await r.next()];
    expect(replies).toEqual([
      { type: 'Rlerror', tag: 2, ecode: 2 },
      { type: 'Rlerror', tag: 3, ecode: 9 },
      { type: 'Rlerror', tag: 4, ecode: 9 },
    ]);
    expect(w.opened()).toBe(0);
    expect(r.conn.fidCount).toBe(1);
    r.ch.close();
  });

  it('Tflush of a queued request: Rflush at once, the request never runs, what follows still waits for the walk', async () => {
    const { w, r } = await behindSlowWalk();
    r.send({ type: 'Tgetattr', tag: 4, fid: 1, requestMask: 0x7ffn });
    r.send({ type: 'Tflush', tag: 9, oldtag: 3 });
    expect(await r.next()).toEqual({ type: 'Rflush', tag: 9 });
    // The flushed tag is free again at once.
    r.send({ type: 'Tstatfs', tag: 3, fid: 0 });
    expect(await r.next()).toMatchObject({ type: 'Rstatfs', tag: 3 });
    w.release();
    expect(await r.next()).toMatchObject({ type: 'Rwalk', tag: 2 });
    expect(await r.next()).toMatchObject({ type: 'Rgetattr', tag: 4 });
    expect(w.opened()).toBe(0);
    r.send({ type: 'Tclunk', tag: 5, fid: 1 });
    expect(await r.next()).toEqual({ type: 'Rclunk', tag: 5 });
    expect(r.conn.fidCount).toBe(1);
    expect(r.conn.inFlight).toBe(0);
    r.ch.close();
  });

  it('the connection closing with requests queued: they never run, every fid is released', async () => {
    const { w, r } = await behindSlowWalk();
    await new Promise((res) => setTimeout(res, 5));
    expect(r.conn.inFlight).toBe(2);
    r.ch.close();
    await new Promise((res) => setTimeout(res, 5));
    w.release();
    await r.conn.done;
    expect(w.opened()).toBe(0);
    expect(r.conn.fidCount).toBe(0);
  });

  it('queued requests count against maxInflight: the connection stops reading at the bound', async () => {
    const w = slowWalk();
    const [a, b] = duplexPair();
    const conn = serve({ stream: b, handler: w.handler, maxInflight: 4, msize: 8192 });
    a.write(hello);
    a.write(encode({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['f'] }, '9P2000.L'));
    for (let i = 0; i < 100; i++) a.write(encode({ type: 'Tgetattr', tag: 10 + i, fid: 1, requestMask: 0x7ffn }, '9P2000.L'));
    await w.walking;
    await new Promise((res) => setTimeout(res, 10));
    expect(conn.inFlight).toBeLessThanOrEqual(4);
    w.release();
    a.destroy();
    await conn.done;
    expect(conn.fidCount).toBe(0);
  });
});

describe('serve: handlers answering with plain values or with promises', () => {
  it('the hot requests (walk, getattr, lopen, read, clunk) get the same answers either way; a failing clunk hook still frees the fid', async () => {
    const results: unknown[] = [];
    for (const late of [false, true]) {
      const fs = new MemoryFs();
      fs.writeFile('d/f', 'both ways');
      const wrap = <A extends unknown[], R>(f: (...a: A) => R) => (late ? async (...a: A) => f(...a) : f);
      let clunks = 0;
      const handler = Object.assign(Object.create(fs) as MemoryFs, {
        walk: wrap(fs.walk.bind(fs)),
        getattr: wrap(fs.getattr.bind(fs)),
        lopen: wrap(fs.lopen.bind(fs)),
        readInto: wrap((n: MemoryFid, offset: bigint, buf: Uint8Array) => {
          const d = fs.read(n, offset, buf.length);
          buf.set(d);
          return d.length;
        }),
        clunk: late ? async () => Promise.reject(new Error(`clunk ${++clunks}`)) : () => void clunks++,
      });
      const { s, conn } = await pair(handler);
      const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as RemoteError).code);
      results.push([
        new TextDecoder().decode(await s.readFile({ path: 'd/f' })),
        (await s.stat({ path: 'd/f' })).size,
        await code(s.stat({ path: 'd/none' })),
        await code(s.stat({ path: 'none/f' })),
        await code(s.readFile({ path: 'd' })),
        s.fidsInUse,
        conn.fidCount,
      ]);
      expect(clunks).toBeGreaterThan(0);
      await s.close();
      await conn.done;
      expect(conn.fidCount).toBe(0);
    }
    expect(results[0]).toEqual(['both ways', 9n, 'ENOENT', 'ENOENT', 'EISDIR', 1, 1]);
    expect(results[1]).toEqual(results[0]);
  });
});
