// Hostile input: random and mutated frames thrown at the server over
// in-memory streams, in each dialect. P9P_FUZZ_FRAMES sets the count for
// 9P2000.L (default 100,000); 9P2000.u and 9P2000 get half as many each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { Channel } from '../channel/channel.js';
import { duplexPair } from '../channel/pair.js';
import { DMDEVICE, DMDIR, DMLINK, DMSYMLINK, NOFID, NOTAG, ORCLOSE, OTRUNC } from '../codec/constants.js';
import { dontTouchStat } from '../codec/stat.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import type { Dialect, Fcall } from '../codec/types.js';
import { MemoryFs } from '../handlers/memory.js';
import type { MemoryFid } from '../handlers/memory.js';
import type { Handler } from './handler.js';
import { serve } from './serve.js';
import type { ServerConnection } from './serve.js';

const FRAMES = Number(process.env['P9P_FUZZ_FRAMES'] ?? 100_000);
const MAX_FIDS = 32;
const MSIZE = 8192;

/** xorshift32: the run is reproducible from P9P_FUZZ_SEED. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}
const SEED = Number(process.env['P9P_FUZZ_SEED'] ?? 0x9e3779b9);
const rand = rng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

const names = ['a', 'b', 'dir', 'f', '..', '.', 'x'.repeat(300), 'sub', ''];

/** One valid frame of every 9P2000/.u T-message (and some .L ones, which must be refused), with random fids. */
function classicSeeds(dialect: Dialect): { msg: Fcall; dialect: Dialect }[] {
  const fid = (): number => pick([0, 1, 2, 3, int(MAX_FIDS * 2), NOFID]);
  const C = (msg: Fcall): { msg: Fcall; dialect: Dialect } => ({ msg, dialect });
  const L = (msg: Fcall): { msg: Fcall; dialect: Dialect } => ({ msg, dialect: '9P2000.L' });
  const tag = 1;
  const stat = { ...dontTouchStat() };
  const field = int(6);
  if (field === 0) stat.name = pick(names);
  if (field === 1) stat.length = pick([0n, 3n, 1n << 50n]);
  if (field === 2) stat.mode = pick([0o644, (DMDIR | 0o755) >>> 0, 0xffffffff, int(0x100000000)]);
  if (field === 3) stat.mtime = int(0x100000000);
  if (field === 4) stat.uid = pick(['0', 'glenda', '']);
  if (field === 5) stat.qid = { type: 0, version: 0, path: BigInt(int(100)) };
  return [
    C({ type: 'Tversion', tag: NOTAG, msize: pick([MSIZE, 1 << 30, 0, 100]), version: pick([dialect, '9P2000.L', 'x']) }),
    C({ type: 'Tauth', tag, afid: fid(), uname: 'u', aname: '', nUname: 0 }),
    C({ type: 'Tattach', tag, fid: fid(), afid: NOFID, uname: 'u', aname: pick(['', '/']), nUname: 0 }),
    C({ type: 'Tflush', tag, oldtag: int(8) }),
    C({ type: 'Twalk', tag, fid: fid(), newfid: fid(), wnames: Array.from({ length: int(17) }, () => pick(names)) }),
    C({ type: 'Topen', tag, fid: fid(), mode: pick([0, 1, 2, 3, OTRUNC | 1, ORCLOSE, int(256)]) }),
    C({
      type: 'Tcreate',
      tag,
      fid: fid(),
      name: pick(names),
      perm: pick([0o644, (DMDIR | 0o755) >>> 0, (DMSYMLINK | 0o777) >>> 0, (DMLINK | 0o644) >>> 0, (DMDEVICE | 0o644) >>> 0, int(0x100000000)]),
      mode: pick([0, 1, 2, ORCLOSE | 2, int(256)]),
      extension: pick(['', 'f', '../../etc', '1\n', '99', 'c 1 3']),
    }),
    C({ type: 'Tread', tag, fid: fid(), offset: BigInt(pick([0, int(100_000)])), count: pick([0, 10, 100, 8000, 0xffffffff]) }),
    C({ type: 'Twrite', tag, fid: fid(), offset: pick([0n, 5n, 1n << 40n]), data: new Uint8Array(int(200)).fill(7) }),
    C({ type: 'Tclunk', tag, fid: fid() }),
    C({ type: 'Tremove', tag, fid: fid() }),
    C({ type: 'Tstat', tag, fid: fid() }),
    C({ type: 'Twstat', tag, fid: fid(), stat }),
    L({ type: 'Tgetattr', tag, fid: fid(), requestMask: 0x3fffn }),
    L({ type: 'Tlopen', tag, fid: fid(), flags: 0 }),
  ].filter((x) => !('name' in x.msg) || (x.msg as { name: string }).name.length < 300);
}

/** One valid frame of every T-message (and some R-messages and 9P2000 ones), with random fids. */
function seeds(): { msg: Fcall; dialect: Dialect }[] {
  const fid = (): number => pick([0, 1, 2, 3, int(MAX_FIDS * 2), NOFID]);
  const L = (msg: Fcall): { msg: Fcall; dialect: Dialect } => ({ msg, dialect: '9P2000.L' });
  const C = (msg: Fcall): { msg: Fcall; dialect: Dialect } => ({ msg, dialect: '9P2000' });
  const tag = 1;
  return [
    L({ type: 'Tversion', tag: NOTAG, msize: pick([MSIZE, 1 << 30, 0, 100]), version: pick(['9P2000.L', '9P2000.u', 'x']) }),
    L({ type: 'Tauth', tag, afid: fid(), uname: 'u', aname: '', nUname: 0 }),
    L({ type: 'Tattach', tag, fid: fid(), afid: NOFID, uname: 'u', aname: pick(['', '/']), nUname: 0 }),
    L({ type: 'Tflush', tag, oldtag: int(8) }),
    L({ type: 'Twalk', tag, fid: fid(), newfid: fid(), wnames: Array.from({ length: int(17) }, () => pick(names)) }),
    L({ type: 'Tread', tag, fid: fid(), offset: BigInt(int(100_000)), count: pick([0, 10, 8000, 0xffffffff]) }),
    L({ type: 'Twrite', tag, fid: fid(), offset: pick([0n, 5n, 1n << 40n]), data: new Uint8Array(int(200)).fill(7) }),
    L({ type: 'Tclunk', tag, fid: fid() }),
    L({ type: 'Tremove', tag, fid: fid() }),
    L({ type: 'Tstatfs', tag, fid: fid() }),
    L({ type: 'Tlopen', tag, fid: fid(), flags: pick([0, 1, 2, 0o1001, 0o200000]) }),
    L({ type: 'Tlcreate', tag, fid: fid(), name: pick(names), flags: pick([0o101, 0o301]), mode: 0o644, gid: 0 }),
    L({ type: 'Tsymlink', tag, fid: fid(), name: pick(names), symtgt: pick(names), gid: 0 }),
    L({ type: 'Tmknod', tag, dfid: fid(), name: pick(names), mode: 0o10644, major: 0, minor: 0, gid: 0 }),
    L({ type: 'Trename', tag, fid: fid(), dfid: fid(), name: pick(names) }),
    L({ type: 'Treadlink', tag, fid: fid() }),
    L({ type: 'Tgetattr', tag, fid: fid(), requestMask: 0x3fffn }),
    L({
      type: 'Tsetattr',
      tag,
      fid: fid(),
      valid: int(0x200),
      mode: int(0o7777),
      uid: 0,
      gid: 0,
      size: pick([0n, 10n, 1n << 50n]),
      atimeSec: 0n,
      atimeNsec: 0n,
      mtimeSec: 0n,
      mtimeNsec: 0n,
    }),
    L({ type: 'Txattrwalk', tag, fid: fid(), newfid: fid(), name: 'user.x' }),
    L({ type: 'Txattrcreate', tag, fid: fid(), name: 'user.x', attrSize: 10n, flags: 0 }),
    L({ type: 'Treaddir', tag, fid: fid(), offset: BigInt(int(5)), count: pick([0, 20, 8000, 0xffffffff]) }),
    L({ type: 'Tfsync', tag, fid: fid(), datasync: 0 }),
    L({ type: 'Tlock', tag, fid: fid(), lockType: 1, flags: 0, start: 0n, length: 0n, procId: 1, clientId: 'c' }),
    L({ type: 'Tgetlock', tag, fid: fid(), lockType: 1, start: 0n, length: 0n, procId: 1, clientId: 'c' }),
    L({ type: 'Tlink', tag, dfid: fid(), fid: fid(), name: pick(names) }),
    L({ type: 'Tmkdir', tag, dfid: fid(), name: pick(names), mode: 0o755, gid: 0 }),
    L({ type: 'Trenameat', tag, olddirfid: fid(), oldname: pick(names), newdirfid: fid(), newname: pick(names) }),
    L({ type: 'Tunlinkat', tag, dirfd: fid(), name: pick(names), flags: pick([0, 0x200]) }),
    L({ type: 'Rclunk', tag }),
    C({ type: 'Topen', tag, fid: fid(), mode: 0 }),
    C({ type: 'Tstat', tag, fid: fid() }),
  ].filter((s) => s.msg.type !== 'Tlcreate' || (s.msg as { name: string }).name.length < 300);
}

let nextTag = 0;
function setTag(f: Uint8Array): void {
  if (f.length >= 7 && rand() < 0.99) {
    nextTag = (nextTag + 1) % 0xfff0;
    f[5] = nextTag & 0xff;
    f[6] = nextTag >> 8;
  }
}

function setSize(f: Uint8Array, n: number): void {
  new DataView(f.buffer, f.byteOffset, f.byteLength).setUint32(0, n >>> 0, true);
}

/**
 * Set when the last frame's size[4] disagrees with its length: the byte
 * stream is out of step from there on (the server may be waiting for the
 * rest of a frame), so that connection cannot be probed afterwards.
 */
let desync = false;

/** One hostile frame: a mutated valid frame, random bytes, a truncation or a bad length prefix. */
function hostileFrame(dialect: Dialect): Uint8Array {
  desync = false;
  const r = rand();
  if (r < 0.002) {
    // An oversize (or undersize) length prefix: the connection must close.
    const f = new Uint8Array(7 + int(8));
    setSize(f, pick([MSIZE + 1, 0xffffffff, 0x7fffffff, 0, 3, 6]));
    desync = true;
    return f;
  }
  if (r < 0.1) {
    const f = new Uint8Array(7 + int(60)).map(() => int(256));
    setSize(f, f.length);
    if (rand() < 0.5) setTag(f);
    return f;
  }
  let seed: { msg: Fcall; dialect: Dialect };
  let f: Uint8Array;
  try {
    seed = pick(dialect === '9P2000.L' ? seeds() : classicSeeds(dialect));
    f = Uint8Array.from(encode(seed.msg, seed.dialect));
  } catch {
    f = new Uint8Array(7);
  }
  if (r < 0.25) {
    // Truncated (size fixed up, mostly).
    const cut = Math.max(7, int(f.length));
    f = f.slice(0, cut);
    if (rand() < 0.99) setSize(f, cut);
    else desync = true;
  } else if (r < 0.3) {
    // Extended with garbage.
    const g = new Uint8Array(f.length + 1 + int(20)).map(() => int(256));
    g.set(f);
    f = g;
    setSize(f, f.length);
  } else if (r < 0.85) {
    // Byte mutations past the size field.
    const flips = 1 + int(4);
    for (let i = 0; i < flips && f.length > 4; i++) {
      const at = 4 + int(f.length - 4);
      f[at] = rand() < 0.5 ? int(256) : (f[at] ?? 0) ^ (1 << int(8));
    }
  }
  // else: the valid frame as it is.
  setTag(f);
  return f;
}

interface Conn {
  a: Duplex;
  b: Duplex;
  conn: ServerConnection;
  handler: Handler<MemoryFid>;
}

function open(dialect: Dialect): Conn {
  const fs = new MemoryFs({ maxBytes: 1 << 20, maxNodes: 200 });
  fs.writeFile('f', 'hello');
  fs.writeFile('dir/sub/a', 'x');
  const [a, b] = duplexPair({ highWaterMark: 16 * 1024 });
  const conn = serve({ stream: b, handler: fs, maxFids: MAX_FIDS, msize: MSIZE, maxInflight: 16 });
  a.on('error', () => {});
  a.resume(); // read and drop the replies
  const hello = [
    encode({ type: 'Tversion', tag: NOTAG, msize: MSIZE, version: dialect }, dialect),
    encode({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 }, dialect),
  ];
  for (const h of hello) a.write(h);
  return { a, b, conn, handler: fs };
}

/** Tversion, Tattach and Twalk on a fresh channel over `stream`: each must be answered correctly. */
async function probe(stream: Duplex, conn: ServerConnection, dialect: Dialect): Promise<void> {
  stream.removeAllListeners('data');
  stream.pause();
  const got: Fcall[] = [];
  let wake: (() => void) | undefined;
  const ch = new Channel({
    stream,
    maxSize: MSIZE,
    onFrame: (f) => {
      try {
        got.push(decode(f, dialect));
      } catch {
        /* a stale reply to garbage */
      }
      wake?.();
    },
  });
  const deadline = Date.now() + 5000;
  const until = async (pred: (m: Fcall) => boolean): Promise<Fcall> => {
    for (;;) {
      const i = got.findIndex(pred);
      if (i >= 0) return got.splice(i, 1)[0] as Fcall;
      if (Date.now() > deadline || ch.isClosed) throw new Error(`the server did not answer the probe (closed: ${ch.isClosed})`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  // An msize no earlier Tversion used, to know our Rversion from theirs.
  await ch.send(encode({ type: 'Tversion', tag: NOTAG, msize: MSIZE - 1, version: dialect }, dialect));
  expect(await until((m) => m.type === 'Rversion' && m.msize === MSIZE - 1)).toMatchObject({ version: dialect });
  // Tversion clunked every fid.
  await new Promise((r) => setTimeout(r, 0));
  expect(conn.fidCount).toBe(0);
  got.length = 0;
  await ch.send(encode({ type: 'Tattach', tag: 40000, fid: 0, afid: NOFID, uname: 'u', aname: '', nUname: 0 }, dialect));
  expect((await until((m) => m.tag === 40000)).type).toBe('Rattach');
  // The garbage may have renamed or removed anything but the root: walk to it through "..".
  await ch.send(encode({ type: 'Twalk', tag: 40001, fid: 0, newfid: 1, wnames: ['..', '..'] }, dialect));
  const w = await until((m) => m.tag === 40001);
  expect(w.type).toBe('Rwalk');
  expect(w.type === 'Rwalk' && w.wqids.length).toBe(2);
  if (dialect === '9P2000.L') {
    await ch.send(encode({ type: 'Tgetattr', tag: 40002, fid: 1, requestMask: 0x3fffn }, dialect));
    expect((await until((m) => m.tag === 40002)).type).toBe('Rgetattr');
  } else {
    await ch.send(encode({ type: 'Tstat', tag: 40002, fid: 1 }, dialect));
    expect(await until((m) => m.tag === 40002)).toMatchObject({ type: 'Rstat', stat: { name: '/' } });
  }
  expect(conn.fidCount).toBe(2);
  ch.close();
}

describe.each([
  ['9P2000.L', FRAMES],
  ['9P2000.u', Math.ceil(FRAMES / 2)],
  ['9P2000', Math.ceil(FRAMES / 2)],
] as const)('hostile input, %s', (dialect, FRAMES) => {
  const problems: unknown[] = [];
  const onProblem = (e: unknown): void => void problems.push(e);
  beforeAll(() => {
    process.on('unhandledRejection', onProblem);
    process.on('uncaughtException', onProblem);
  });
  afterAll(() => {
    process.off('unhandledRejection', onProblem);
    process.off('uncaughtException', onProblem);
  });

  it(`survives ${FRAMES} random and mutated frames`, async () => {
    const started = Date.now();
    let sent = 0;
    let connections = 0;
    let closedByServer = 0;
    let probed = 0;
    const reasons = new Map<string, number>();
    while (sent < FRAMES) {
      const c = open(dialect);
      connections++;
      const perConn = 200 + int(800);
      let inStep = true;
      for (let i = 0; i < perConn && sent < FRAMES && !c.a.destroyed; i++) {
        const hf = hostileFrame(dialect);
        if (desync) inStep = false;
        const ok = c.a.write(hf);
        sent++;
        if (!ok) {
          await Promise.race([new Promise((r) => c.a.once('drain', r)), new Promise((r) => c.a.once('close', r))]);
        }
        if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
      expect(c.conn.fidHighWater).toBeLessThanOrEqual(MAX_FIDS);
      if (c.a.destroyed) closedByServer++;
      if (!c.a.destroyed && inStep) {
        // A connection that survived the garbage still answers properly.
        await probe(c.a, c.conn, dialect);
        probed++;
      }
      c.a.destroy();
      const why = (await c.conn.done).message.replace(/\d+/g, 'N');
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
      expect(c.conn.fidCount).toBe(0);
      expect(c.conn.inFlight).toBe(0);
    }
    // And a fresh one works too.
    const last = open(dialect);
    await probe(last.a, last.conn, dialect);
    last.a.destroy();
    await last.conn.done;
    expect(last.conn.fidCount).toBe(0);
    expect(problems).toEqual([]);
    console.log(
      `hostile ${dialect}: ${sent} frames over ${connections} connections (${closedByServer} closed by the server, ${probed} probed) in ${Date.now() - started} ms, seed ${SEED}`,
    );
    console.log(`close reasons: ${JSON.stringify(Object.fromEntries(reasons))}`);
  }, 120_000);
});
