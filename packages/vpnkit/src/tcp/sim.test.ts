/**
 * Two TcpConnections joined by a simulated link in virtual time: every
 * segment goes through `TcpRepr.emit` into bytes and back through
 * `TcpRepr.parse(TcpPacket.checked(...))`, so options really cross the wire
 * format.  The link delays, drops, reorders and duplicates from a seeded
 * PRNG, so every run is reproducible.
 */

import { describe, expect, it } from 'vitest';
import { TcpPacket, TcpRepr } from '../wire/tcp.js';
import type { TcpEndpoint, TcpOptions } from './config.js';
import { TcpConnection, type TcpEvent, type TcpState } from './connection.js';
import { seededRandom } from './isn.js';
import { BufferPool } from './pool.js';

interface LinkConfig {
  /** One-way delay, ms. */
  delay: number;
  /** Uniform extra delay in [0, jitter) ms for every packet (can reorder). */
  jitter: number;
  loss: number;
  /** Probability of an extra delay in [0, reorderDelay) ms. */
  reorder: number;
  reorderDelay: number;
  duplicate: number;
  seed: number;
}

interface Delivery {
  at: number;
  id: number;
  to: 0 | 1;
  bytes: Uint8Array;
}

/** A small binary min-heap ordered by (at, id). */
class Queue {
  private h: Delivery[] = [];
  get size(): number {
    return this.h.length;
  }
  peek(): Delivery | undefined {
    return this.h[0];
  }
  push(d: Delivery): void {
    const h = this.h;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as Delivery, h[p] as Delivery)) break;
      [h[i], h[p]] = [h[p] as Delivery, h[i] as Delivery];
      i = p;
    }
  }
  pop(): Delivery | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l] as Delivery, h[m] as Delivery)) m = l;
        if (r < h.length && less(h[r] as Delivery, h[m] as Delivery)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Delivery, h[i] as Delivery];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

const EP: [TcpEndpoint, TcpEndpoint] = [
  { addr: 0xc0a84102, port: 49152 },
  { addr: 0xc0a84101, port: 443 },
];

interface EndApp {
  /** Bytes to send, then shutdown(). */
  data: Uint8Array;
  written: number;
  shut: boolean;
  /** Received bytes. */
  got: Uint8Array;
  gotLen: number;
  eof: boolean;
  closed?: string;
  states: Set<TcpState>;
  /** Read at most this many bytes every `readEvery` ms (undefined: read everything at once). */
  readChunk?: number;
  readEvery?: number;
  nextRead: number;
  maxReadable: number;
}

interface SimResult {
  apps: [EndApp, EndApp];
  conns: [TcpConnection, TcpConnection];
  now: number;
  /** Largest SND.MAX - SND.UNA seen at A. */
  maxInFlightA: number;
  packets: number;
  dropped: number;
}

function simulate(opts: {
  link: LinkConfig;
  tcp: [Partial<TcpOptions>, Partial<TcpOptions>];
  send: [Uint8Array, Uint8Array];
  slowReaderB?: { chunk: number; every: number };
  maxTime?: number;
}): SimResult {
  const rand = seededRandom(opts.link.seed);
  const uniform = (): number => rand() / 0x1_0000_0000;
  const q = new Queue();
  let id = 0;
  let packets = 0;
  let dropped = 0;
  let now = 0;
  const apps: [EndApp, EndApp] = [0, 1].map((i) => ({
    data: opts.send[i as 0 | 1],
    written: 0,
    shut: false,
    got: new Uint8Array(opts.send[(1 - i) as 0 | 1].length),
    gotLen: 0,
    eof: false,
    states: new Set<TcpState>(),
    nextRead: 0,
    maxReadable: 0,
    ...(i === 1 && opts.slowReaderB ? { readChunk: opts.slowReaderB.chunk, readEvery: opts.slowReaderB.every } : {}),
  })) as [EndApp, EndApp];

  const a = TcpConnection.connect(0, EP[0], EP[1], { random: seededRandom(11), ...opts.tcp[0] });
  let b: TcpConnection | undefined;
  const conns = (): (TcpConnection | undefined)[] => [a, b];

  const emitter = (from: 0 | 1) => (seg: TcpRepr) => {
    const buf = new Uint8Array(TcpRepr.bufferLen(seg));
    TcpRepr.emit(seg, TcpPacket.unchecked(buf), EP[from].addr, EP[1 - from]!.addr);
    packets++;
    if (uniform() < opts.link.loss) {
      dropped++;
      return;
    }
    const copies = uniform() < opts.link.duplicate ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      let at = now + opts.link.delay + uniform() * opts.link.jitter;
      if (uniform() < opts.link.reorder) at += uniform() * opts.link.reorderDelay;
      q.push({ at, id: id++, to: (1 - from) as 0 | 1, bytes: buf });
    }
  };
  const emits = [emitter(0), emitter(1)] as const;

  const deliver = (d: Delivery): void => {
    const from = (1 - d.to) as 0 | 1;
    const seg = TcpRepr.parse(TcpPacket.checked(d.bytes), EP[from].addr, EP[d.to].addr);
    if (d.to === 1 && b === undefined) {
      if (seg.flags !== 0x02) return; // only a SYN opens it
      b = TcpConnection.accept(now, EP[1], EP[0], seg, { random: seededRandom(22), ...opts.tcp[1] });
      return;
    }
    const c = d.to === 0 ? a : b;
    c?.process(now, seg);
  };

  const handle = (i: 0 | 1, c: TcpConnection): void => {
    const app = apps[i];
    for (const e of c.takeEvents() as TcpEvent[]) {
      if (e.type === 'eof') app.eof = true;
      if (e.type === 'closed') app.closed = e.reason;
    }
    app.states.add(c.state);
    if (c.state === 'CLOSED') return;
    if (!app.shut) {
      if (app.written < app.data.length) app.written += c.write(app.data.subarray(app.written));
      if (app.written === app.data.length) {
        app.shut = true;
        c.shutdown();
      }
    }
    app.maxReadable = Math.max(app.maxReadable, c.readable);
    if (app.readEvery === undefined || now >= app.nextRead) {
      for (;;) {
        const chunk = c.read(app.readChunk);
        if (chunk === undefined) break;
        app.got.set(chunk, app.gotLen);
        app.gotLen += chunk.length;
        if (app.readChunk !== undefined) break;
      }
      if (app.readEvery !== undefined) app.nextRead = now + app.readEvery;
    }
    app.states.add(c.state);
  };

  const step = (i: 0 | 1): void => {
    const c = conns()[i];
    if (c === undefined) return;
    handle(i, c);
    const t = c.pollAt();
    if (t !== undefined && t <= now) c.dispatch(now, emits[i]);
    handle(i, c);
  };

  let maxInFlightA = 0;
  const maxTime = opts.maxTime ?? 600_000;
  for (let iter = 0; ; iter++) {
    if (iter > 5_000_000) throw new Error(`no progress at ${now}`);
    // Each delivery is answered before the next one (as a real stack would).
    for (let d = q.peek(); d !== undefined && d.at <= now; d = q.peek()) {
      q.pop();
      deliver(d);
      step(d.to);
    }
    step(0);
    step(1);
    maxInFlightA = Math.max(maxInFlightA, a.stats().inFlight);
    let next: number | undefined = q.peek()?.at;
    for (const c of conns()) {
      const t = c?.pollAt();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    const slow = apps[1].readEvery !== undefined && b !== undefined && b.readable > 0 ? apps[1].nextRead : undefined;
    if (slow !== undefined && (next === undefined || slow < next)) next = slow;
    if (next === undefined) {
      break;
    }
    now = Math.max(now, next);
    if (now > maxTime) throw new Error(`simulation ran past ${maxTime} ms`);
  }
  if (b === undefined) throw new Error('never accepted');
  return { apps, conns: [a, b], now, maxInFlightA, packets, dropped };
}

function pattern(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  const out = new Uint8Array(n);
  const v = new Uint32Array(out.buffer, 0, n >> 2);
  for (let i = 0; i < v.length; i++) v[i] = r();
  for (let i = v.length * 4; i < n; i++) out[i] = r() & 0xff;
  return out;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && Buffer.compare(x, y) === 0;
}

const MB = 1 << 20;

describe('two endpoints over a simulated link', () => {
  it('moves 10 MB each way concurrently through 5% loss and 10% reordering, byte-exact, and closes cleanly', () => {
    const up = pattern(10 * MB, 1);
    const down = pattern(10 * MB + 12345, 2);
    const tcp: Partial<TcpOptions> = { rxBufferSize: 256 * 1024, txBufferSize: 256 * 1024, msl: 2000 };
    const r = simulate({
      link: { delay: 10, jitter: 1, loss: 0.05, reorder: 0.1, reorderDelay: 8, duplicate: 0.01, seed: 42 },
      tcp: [tcp, tcp],
      send: [up, down],
    });
    const [A, B] = r.apps;
    expect(A.gotLen).toBe(down.length);
    expect(B.gotLen).toBe(up.length);
    expect(sameBytes(A.got, down)).toBe(true);
    expect(sameBytes(B.got, up)).toBe(true);
    expect(A.eof && B.eof).toBe(true);
    expect(A.closed).toBe('normal');
    expect(B.closed).toBe('normal');
    expect(r.conns.map((c) => c.state)).toEqual(['CLOSED', 'CLOSED']);
    expect(A.states.has('TIME-WAIT') || B.states.has('TIME-WAIT')).toBe(true);
    const [sa, sb] = r.conns.map((c) => c.stats());
    expect(sa?.timestamps && sa.sack && sa.windowScaling).toBe(true);
    expect((sa?.retransmissions ?? 0) + (sb?.retransmissions ?? 0)).toBeGreaterThan(0);
    expect(sa?.fastRetransmits).toBeGreaterThan(0);
    expect(r.dropped).toBeGreaterThan(0);
  });

  it('lossless: cwnd grows, no retransmissions, throughput near window/RTT', () => {
    const up = pattern(10 * MB, 3);
    const rx = 256 * 1024;
    const tcp: Partial<TcpOptions> = { rxBufferSize: rx, txBufferSize: rx, msl: 2000 };
    const r = simulate({
      link: { delay: 5, jitter: 0, loss: 0, reorder: 0, reorderDelay: 0, duplicate: 0, seed: 7 },
      tcp: [tcp, tcp],
      send: [up, new Uint8Array(0)],
    });
    expect(sameBytes(r.apps[1].got, up)).toBe(true);
    const sa = r.conns[0].stats();
    expect(sa.retransmissions).toBe(0);
    expect(sa.timeouts).toBe(0);
    expect(sa.fastRetransmits).toBe(0);
    expect(r.conns[1].stats().retransmissions).toBe(0);
    expect(sa.cwnd).toBeGreaterThan(64 * 1024); // far beyond IW (4380)
    expect(sa.cwnd).toBeLessThan(4 * rx); // but not inflated while the receive window limits
    expect(sa.srtt).toBeGreaterThanOrEqual(10);
    expect(sa.srtt).toBeLessThan(60);
    // The window limit is rx / RTT = 256 KiB / 10 ms = 25.6 MB/s: 10 MB in
    // ~0.4 s once slow start is over.  Allow for slow start and delayed ACKs.
    const transferMs = r.now - 2 * 2000; // minus TIME-WAIT
    expect(transferMs).toBeLessThan(1000);
    expect(r.apps[0].closed).toBe('normal');
    expect(r.apps[1].closed).toBe('normal');
  });

  it('a slow reader keeps the sender in flight bounded by its receive buffer', () => {
    const up = pattern(2 * MB, 4);
    const rx = 64 * 1024;
    const r = simulate({
      link: { delay: 5, jitter: 2, loss: 0.01, reorder: 0.05, reorderDelay: 5, duplicate: 0, seed: 9 },
      tcp: [{ txBufferSize: 256 * 1024, msl: 1000 }, { rxBufferSize: rx, msl: 1000 }],
      send: [up, new Uint8Array(0)],
      slowReaderB: { chunk: 16 * 1024, every: 20 },
    });
    expect(sameBytes(r.apps[1].got, up)).toBe(true);
    expect(r.maxInFlightA).toBeLessThanOrEqual(rx + 1);
    expect(r.apps[1].maxReadable).toBeLessThanOrEqual(rx);
    expect(r.apps[1].maxReadable).toBeGreaterThan(rx / 2); // the reader really was the bottleneck
    // 2 MiB at 16 KiB per 20 ms takes at least 2.5 s.
    expect(r.now).toBeGreaterThan(2500);
    expect(r.apps[0].closed).toBe('normal');
    expect(r.apps[1].closed).toBe('normal');
    expect(r.conns[0].stats().zeroWindowProbes + r.conns[0].stats().timeouts).toBeLessThan(50);
  });
});

describe('buffers drawn from a shared pool', () => {
  it('an exhausted pool leaves each connection its free 16 KiB: slower, byte-exact, nothing charged', () => {
    const up = pattern(1 * MB, 5);
    const down = pattern(MB / 2, 6);
    const pool = new BufferPool(0);
    const tcp: Partial<TcpOptions> = { rxBufferSize: 4 * MB, txBufferSize: 4 * MB, msl: 1000, pool };
    const r = simulate({
      link: { delay: 5, jitter: 1, loss: 0.01, reorder: 0.05, reorderDelay: 4, duplicate: 0, seed: 77 },
      tcp: [tcp, tcp],
      send: [up, down],
    });
    expect(sameBytes(r.apps[1].got, up)).toBe(true);
    expect(sameBytes(r.apps[0].got, down)).toBe(true);
    expect(r.maxInFlightA).toBeLessThanOrEqual(BufferPool.FREE_BYTES + 1); // the peer's window never passed its free buffer
    expect(pool.used).toBe(0);
    expect(r.apps[0].closed).toBe('normal');
    expect(r.apps[1].closed).toBe('normal');
  });

  it('buffers grow within the pool, never past its limit, and are given back by releaseBuffers', () => {
    const up = pattern(4 * MB, 8);
    const limit = 300 * 1024;
    const pool = new BufferPool(limit);
    let peak = 0;
    const watched = { rxBufferSize: 4 * MB, txBufferSize: 4 * MB, msl: 1000, pool };
    const orig = pool.take.bind(pool);
    pool.take = (n: number): boolean => {
      const ok = orig(n);
      peak = Math.max(peak, pool.used);
      return ok;
    };
    const r = simulate({
      link: { delay: 5, jitter: 0, loss: 0, reorder: 0, reorderDelay: 0, duplicate: 0, seed: 3 },
      tcp: [watched, watched],
      send: [up, new Uint8Array(0)],
    });
    expect(sameBytes(r.apps[1].got, up)).toBe(true);
    expect(peak).toBeGreaterThan(BufferPool.FREE_BYTES); // it did grow
    expect(peak).toBeLessThanOrEqual(limit);
    expect(r.maxInFlightA).toBeGreaterThan(64 * 1024);
    expect(pool.used).toBeGreaterThan(0); // held until the owner releases
    for (const c of r.conns) c.releaseBuffers();
    expect(pool.used).toBe(0);
  });
});

describe('simultaneous open and close over the wire format', () => {
  it('both sides connect() and shutdown() at once: SYN-RECEIVED, CLOSING, TIME-WAIT on both', () => {
    const o = (seed: number): TcpOptions => ({ random: seededRandom(seed), msl: 500 });
    const c = [TcpConnection.connect(0, EP[0], EP[1], o(1)), TcpConnection.connect(0, EP[1], EP[0], o(2))] as const;
    const seen = [new Set<TcpState>(), new Set<TcpState>()];
    const reasons: string[] = [];
    const got = [0, 0];
    let now = 0;
    const wire: { to: 0 | 1; bytes: Uint8Array }[] = [];
    const exchange = (): void => {
      for (const i of [0, 1] as const) {
        c[i].dispatch(now, (seg) => {
          const buf = new Uint8Array(TcpRepr.bufferLen(seg));
          TcpRepr.emit(seg, TcpPacket.unchecked(buf), EP[i].addr, EP[1 - i]!.addr);
          wire.push({ to: (1 - i) as 0 | 1, bytes: buf });
        });
      }
      for (const w of wire.splice(0)) {
        c[w.to].process(now, TcpRepr.parse(TcpPacket.checked(w.bytes), EP[1 - w.to]!.addr, EP[w.to].addr));
        seen[w.to]?.add(c[w.to].state);
      }
      for (const i of [0, 1] as const) {
        for (const e of c[i].takeEvents()) if (e.type === 'closed') reasons.push(e.reason);
        for (let d = c[i].read(); d !== undefined; d = c[i].read()) got[i] = (got[i] ?? 0) + d.length;
      }
    };
    exchange(); // SYNs cross
    expect(c.map((x) => x.state)).toEqual(['SYN-RECEIVED', 'SYN-RECEIVED']);
    exchange(); // SYN,ACKs cross
    expect(c.map((x) => x.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    c[0].write(new Uint8Array(3000));
    c[1].write(new Uint8Array(5000));
    c[0].shutdown();
    c[1].shutdown();
    for (let i = 0; i < 20 && (c[0].state !== 'CLOSED' || c[1].state !== 'CLOSED'); i++) {
      now = Math.max(now + 1, Math.min(c[0].pollAt() ?? Infinity, c[1].pollAt() ?? Infinity));
      exchange();
    }
    expect(got).toEqual([5000, 3000]);
    expect(seen[0]?.has('TIME-WAIT') && seen[1]?.has('TIME-WAIT')).toBe(true);
    expect(seen[0]?.has('CLOSING') || seen[1]?.has('CLOSING')).toBe(true);
    expect(reasons).toEqual(['normal', 'normal']);
  });
});
