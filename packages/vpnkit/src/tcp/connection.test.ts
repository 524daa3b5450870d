/**
 * TcpConnection driven with hand-made segments, one `describe` per state
 * (RFC 9293 §3.10.7).  Our side is L (port 80), the peer R; the peer's ISN
 * sits just below 2^32 so sequence numbers wrap during the tests.
 */

import { describe, expect, it } from 'vitest';
import { TcpFlags, type TcpRepr } from '../wire/tcp.js';
import type { TcpEndpoint, TcpOptions } from './config.js';
import { TcpConnection, resetFor } from './connection.js';
import { seededRandom } from './isn.js';
import { seqAdd } from './seq.js';

const { Fin, Syn, Rst, Psh, Ack } = TcpFlags;

/** Our side (the guest-facing stack) and the peer. */
const L: TcpEndpoint = { addr: 0x0a000001, port: 80 };
const R: TcpEndpoint = { addr: 0x0a000002, port: 40000 };

const EMPTY = new Uint8Array(0);

function opts(o: Partial<TcpOptions> = {}): TcpOptions {
  return { random: seededRandom(7), timestamps: false, windowScaling: false, ...o };
}

function seg(p: Partial<TcpRepr>): TcpRepr {
  return {
    srcPort: R.port,
    dstPort: L.port,
    seqNumber: 0,
    ackNumber: 0,
    flags: 0,
    windowLen: 65535,
    payload: EMPTY,
    ...p,
  };
}

function clone(s: TcpRepr): TcpRepr {
  return {
    ...s,
    payload: s.payload.slice(),
    timestamp: s.timestamp && { ...s.timestamp },
    sackBlocks: s.sackBlocks?.map((b) => ({ ...b })),
  };
}

/** Dispatch at `now` and return copies of what came out. */
function flush(c: TcpConnection, now: number): TcpRepr[] {
  const out: TcpRepr[] = [];
  c.dispatch(now, (s) => out.push(clone(s)));
  return out;
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function has(s: TcpRepr | undefined, flags: number): boolean {
  return s !== undefined && (s.flags & flags) === flags;
}

/** The peer's view: its next sequence number and what it acknowledges. */
interface Peer {
  seq: number;
  ack: number;
  iss: number;
}

const PEER_ISS = 0xfffff000; // close to wrap-around on purpose

/**
 * A connection accepted from a SYN and taken to ESTABLISHED (events
 * drained).  The peer offers MSS 1000 and SACK; no timestamps, no scaling.
 */
function established(
  o: Partial<TcpOptions> = {},
  syn: Partial<TcpRepr> = {},
  now = 0,
): { c: TcpConnection; p: Peer } {
  const c = TcpConnection.accept(
    now,
    L,
    R,
    seg({ seqNumber: PEER_ISS, flags: Syn, maxSegSize: 1000, sackPermitted: true, ...syn }),
    opts(o),
  );
  const [sa] = flush(c, now);
  if (sa === undefined) throw new Error('no SYN/ACK');
  const p: Peer = { seq: seqAdd(PEER_ISS, 1), ack: seqAdd(sa.seqNumber, 1), iss: sa.seqNumber };
  c.process(now, seg({ seqNumber: p.seq, ackNumber: p.ack, flags: Ack, windowLen: syn.windowLen ?? 65535 }));
  c.takeEvents();
  return { c, p };
}

/** A segment from the peer at its current seq/ack. */
function from(p: Peer, flags: number, extra: Partial<TcpRepr> = {}): TcpRepr {
  return seg({ seqNumber: p.seq, ackNumber: p.ack, flags, ...extra });
}

function types(c: TcpConnection): string[] {
  return c.takeEvents().map((e) => (e.type === 'closed' ? `closed:${e.reason}` : e.type));
}

/** Established, then our side sends `n` bytes in MSS-sized segments (not acked). */
function sending(n: number, o: Partial<TcpOptions> = {}): { c: TcpConnection; p: Peer; sent: TcpRepr[]; data: Uint8Array } {
  const { c, p } = established(o);
  const data = bytes(n);
  expect(c.write(data)).toBe(n);
  const sent = flush(c, 0);
  return { c, p, sent, data };
}

describe('SYN-SENT', () => {
  it('sends a SYN offering every option, and completes on SYN,ACK', () => {
    const c = TcpConnection.connect(0, L, R, opts({ timestamps: true, windowScaling: true, rxBufferSize: 1 << 20 }));
    expect(c.state).toBe('SYN-SENT');
    expect(c.pollAt()).toBeLessThanOrEqual(0);
    const [syn, ...rest] = flush(c, 0);
    expect(rest).toEqual([]);
    expect(syn?.flags).toBe(Syn);
    expect(syn?.maxSegSize).toBe(1460);
    expect(syn?.windowScale).toBe(5);
    expect(syn?.sackPermitted).toBe(true);
    expect(syn?.timestamp?.tsEcr).toBe(0);
    expect(syn?.windowLen).toBe(65535); // never scaled in a SYN
    const iss = syn?.seqNumber ?? 0;
    c.process(
      30,
      seg({
        seqNumber: PEER_ISS,
        ackNumber: seqAdd(iss, 1),
        flags: Syn | Ack,
        maxSegSize: 1200,
        windowScale: 2,
        sackPermitted: true,
        timestamp: { tsVal: 500, tsEcr: syn?.timestamp?.tsVal ?? 0 },
        windowLen: 1000,
      }),
    );
    expect(c.state).toBe('ESTABLISHED');
    expect(types(c)).toEqual(['established']);
    const [ack] = flush(c, 30);
    expect(ack?.flags).toBe(Ack);
    expect(ack?.seqNumber).toBe(seqAdd(iss, 1));
    expect(ack?.ackNumber).toBe(seqAdd(PEER_ISS, 1));
    expect(ack?.timestamp?.tsEcr).toBe(500);
    expect(ack?.windowLen).toBe(32768); // (1 << 20) >> 5: the whole buffer, scaled
    const st = c.stats();
    expect(st).toMatchObject({ windowScaling: true, timestamps: true, sack: true, mss: 1200 - 12, sndWnd: 1000 });
    expect(st.srtt).toBe(30); // the SYN,ACK echoed our SYN's timestamp
  });

  it('uses an option only when both sides offered it; MSS defaults to 536 for IPv4', () => {
    const c = TcpConnection.connect(0, L, R, opts({ timestamps: true, windowScaling: true }));
    const [syn] = flush(c, 0);
    c.process(1, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(syn?.seqNumber ?? 0, 1), flags: Syn | Ack }));
    expect(c.stats()).toMatchObject({ windowScaling: false, timestamps: false, sack: false, mss: 536 });
    const [ack] = flush(c, 1);
    expect(ack?.timestamp).toBeUndefined();
    expect(ack?.sackBlocks).toBeUndefined();
  });

  it('answers an unacceptable ACK with a RST and stays', () => {
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    c.process(1, seg({ seqNumber: 5, ackNumber: seqAdd(syn?.seqNumber ?? 0, 100), flags: Ack }));
    const [rst] = flush(c, 1);
    expect(rst?.flags).toBe(Rst);
    expect(rst?.seqNumber).toBe(seqAdd(syn?.seqNumber ?? 0, 100));
    expect(c.state).toBe('SYN-SENT');
  });

  it('a RST that acknowledges the SYN refuses the connection; one without ACK is ignored', () => {
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    c.process(1, seg({ seqNumber: 0, flags: Rst }));
    expect(c.state).toBe('SYN-SENT');
    c.process(2, seg({ seqNumber: 0, ackNumber: seqAdd(syn?.seqNumber ?? 0, 1), flags: Rst | Ack }));
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:refused']);
    expect(flush(c, 3)).toEqual([]);
    expect(c.pollAt()).toBeUndefined();
  });

  it('simultaneous open: SYN -> SYN-RECEIVED -> SYN,ACK -> ESTABLISHED', () => {
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    const iss = syn?.seqNumber ?? 0;
    c.process(1, seg({ seqNumber: PEER_ISS, flags: Syn, maxSegSize: 1000 }));
    expect(c.state).toBe('SYN-RECEIVED');
    const [sa] = flush(c, 1);
    expect(sa?.flags).toBe(Syn | Ack);
    expect(sa?.seqNumber).toBe(iss);
    expect(sa?.ackNumber).toBe(seqAdd(PEER_ISS, 1));
    // The peer's SYN,ACK (its SYN again, now acknowledging ours).
    c.process(2, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(iss, 1), flags: Syn | Ack }));
    expect(c.state).toBe('ESTABLISHED');
    expect(types(c)).toEqual(['established']);
  });

  it('retransmits the SYN with exponential backoff, then times out', () => {
    const c = TcpConnection.connect(0, L, R, opts({ maxSynRetries: 3 }));
    const times: number[] = [];
    let now = 0;
    for (let i = 0; i < 10 && c.state !== 'CLOSED'; i++) {
      const out = flush(c, now);
      if (out.length > 0) times.push(now);
      expect(out.every((s) => s.flags === Syn)).toBe(true);
      now = c.pollAt() ?? now;
    }
    expect(times).toEqual([0, 1000, 3000, 7000]);
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:timeout']);
  });
});

describe('SYN-RECEIVED', () => {
  it('answers the SYN with a SYN,ACK and completes on the ACK', () => {
    const syn = seg({ seqNumber: PEER_ISS, flags: Syn, maxSegSize: 1000, sackPermitted: true, windowLen: 4000 });
    const c = TcpConnection.accept(0, L, R, syn, opts());
    expect(c.state).toBe('SYN-RECEIVED');
    const [sa] = flush(c, 0);
    expect(sa?.flags).toBe(Syn | Ack);
    expect(sa?.ackNumber).toBe(seqAdd(PEER_ISS, 1));
    expect(sa?.sackPermitted).toBe(true);
    expect(sa?.windowScale).toBeUndefined(); // the peer did not offer it
    expect(sa?.timestamp).toBeUndefined();
    c.process(10, seg({ seqNumber: seqAdd(PEER_ISS, 1), ackNumber: seqAdd(sa?.seqNumber ?? 0, 1), flags: Ack, windowLen: 4000 }));
    expect(c.state).toBe('ESTABLISHED');
    expect(types(c)).toEqual(['established']);
    expect(c.stats()).toMatchObject({ srtt: 10, mss: 1000, sndWnd: 4000 });
  });

  it('a retransmitted SYN gets the SYN,ACK again; the SYN,ACK is retransmitted on timeout', () => {
    const c = TcpConnection.accept(0, L, R, seg({ seqNumber: PEER_ISS, flags: Syn }), opts());
    const [sa] = flush(c, 0);
    c.process(5, seg({ seqNumber: PEER_ISS, flags: Syn }));
    const [again] = flush(c, 5);
    expect(again).toEqual(sa);
    expect(c.pollAt()).toBe(1000);
    const [rtx] = flush(c, 1000);
    expect(rtx?.flags).toBe(Syn | Ack);
    expect(c.stats().retransmissions).toBe(1);
  });

  it('an unacceptable ACK draws a RST; an exact RST closes', () => {
    const c = TcpConnection.accept(0, L, R, seg({ seqNumber: PEER_ISS, flags: Syn }), opts());
    const [sa] = flush(c, 0);
    c.process(1, seg({ seqNumber: seqAdd(PEER_ISS, 1), ackNumber: seqAdd(sa?.seqNumber ?? 0, 7), flags: Ack }));
    const [rst] = flush(c, 1);
    expect(rst?.flags).toBe(Rst);
    expect(rst?.seqNumber).toBe(seqAdd(sa?.seqNumber ?? 0, 7));
    expect(c.state).toBe('SYN-RECEIVED');
    c.process(2, seg({ seqNumber: seqAdd(PEER_ISS, 1), flags: Rst }));
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:reset']);
  });

  it('gives up after maxSynRetries', () => {
    const c = TcpConnection.accept(0, L, R, seg({ seqNumber: PEER_ISS, flags: Syn }), opts({ maxSynRetries: 1 }));
    flush(c, 0);
    flush(c, 1000);
    expect(c.pollAt()).toBe(3000);
    flush(c, 3000);
    expect(types(c)).toEqual(['closed:timeout']);
  });
});

describe('ESTABLISHED', () => {
  it('delays the ACK of one segment, and ACKs every second full-sized segment at once', () => {
    const { c, p } = established();
    c.process(100, from(p, Ack | Psh, { payload: bytes(1460) }));
    expect(types(c)).toEqual(['readable']);
    expect(flush(c, 100)).toEqual([]);
    expect(c.pollAt()).toBe(140);
    const [ack] = flush(c, 140);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1460));
    p.seq = seqAdd(p.seq, 1460);
    c.process(200, from(p, Ack, { payload: bytes(1460) }));
    p.seq = seqAdd(p.seq, 1460);
    c.process(201, from(p, Ack, { payload: bytes(1460) }));
    p.seq = seqAdd(p.seq, 1460);
    const [ack2] = flush(c, 201);
    expect(ack2?.ackNumber).toBe(p.seq);
    expect(c.read()).toEqual(new Uint8Array([...bytes(1460), ...bytes(1460), ...bytes(1460)]));
    expect(c.read()).toBeUndefined();
  });

  it('ACKs an out-of-order segment at once with SACK blocks, most recent first', () => {
    const { c, p } = established();
    const d = bytes(4000);
    c.process(1, from(p, Ack, { seqNumber: seqAdd(p.seq, 1000), payload: d.subarray(1000, 2000) }));
    let [ack] = flush(c, 1);
    expect(ack?.ackNumber).toBe(p.seq);
    expect(ack?.sackBlocks).toEqual([{ left: seqAdd(p.seq, 1000), right: seqAdd(p.seq, 2000) }]);
    c.process(2, from(p, Ack, { seqNumber: seqAdd(p.seq, 3000), payload: d.subarray(3000, 4000) }));
    [ack] = flush(c, 2);
    expect(ack?.sackBlocks).toEqual([
      { left: seqAdd(p.seq, 3000), right: seqAdd(p.seq, 4000) },
      { left: seqAdd(p.seq, 1000), right: seqAdd(p.seq, 2000) },
    ]);
    expect(c.readable).toBe(0);
    c.process(3, from(p, Ack, { payload: d.subarray(0, 1000) })); // fills the first hole: ACK now
    [ack] = flush(c, 3);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 2000));
    expect(ack?.sackBlocks).toEqual([{ left: seqAdd(p.seq, 3000), right: seqAdd(p.seq, 4000) }]);
    c.process(4, from(p, Ack, { seqNumber: seqAdd(p.seq, 2000), payload: d.subarray(2000, 3000) }));
    [ack] = flush(c, 4);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 4000));
    expect(ack?.sackBlocks).toBeUndefined();
    expect(c.read()).toEqual(d);
  });

  it('drops out-of-window segments with an ACK and keeps overlapping retransmissions byte-exact', () => {
    const { c, p } = established({ rxBufferSize: 4096 });
    c.process(1, from(p, Ack, { seqNumber: seqAdd(p.seq, 5000), payload: bytes(100) }));
    let [ack] = flush(c, 1);
    expect(ack?.ackNumber).toBe(p.seq);
    expect(ack?.sackBlocks).toBeUndefined();
    c.process(2, from(p, Ack, { seqNumber: seqAdd(p.seq, -200), payload: bytes(100) })); // old duplicate
    [ack] = flush(c, 2);
    expect(ack?.ackNumber).toBe(p.seq);
    const d = bytes(600, 9);
    c.process(3, from(p, Ack, { payload: d.subarray(0, 400) }));
    c.process(4, from(p, Ack, { seqNumber: seqAdd(p.seq, 200), payload: d.subarray(200, 600) })); // overlaps
    expect(c.read()).toEqual(d);
  });

  it('RST: exact sequence resets, in-window draws a challenge ACK, outside is ignored (RFC 5961 §3)', () => {
    const { c, p } = established();
    c.process(1, from(p, Rst, { seqNumber: seqAdd(p.seq, 10) }));
    const [chal] = flush(c, 1);
    expect(chal?.flags).toBe(Ack);
    expect(chal?.ackNumber).toBe(p.seq);
    expect(c.state).toBe('ESTABLISHED');
    c.process(2, from(p, Rst, { seqNumber: seqAdd(p.seq, 100_000) }));
    expect(flush(c, 2)).toEqual([]);
    c.process(3, from(p, Rst));
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:reset']);
  });

  it('SYN draws a rate-limited challenge ACK (RFC 5961 §4, §7)', () => {
    const { c, p } = established({ challengeAckLimit: 2 });
    const acks = (now: number): number => {
      c.process(now, from(p, Syn, { seqNumber: 12345 }));
      return flush(c, now).length;
    };
    expect([acks(10), acks(20), acks(30), acks(40)]).toEqual([1, 1, 0, 0]);
    expect(acks(1010)).toBe(1);
    expect(c.state).toBe('ESTABLISHED');
    expect(c.stats().challengeAcks).toBe(3);
  });

  it('PAWS drops a segment with an old timestamp and ACKs it (RFC 7323 §5)', () => {
    const { c, p } = established({ timestamps: true }, { timestamp: { tsVal: 1000, tsEcr: 0 } });
    c.process(1, from(p, Ack, { payload: bytes(10), timestamp: { tsVal: 1001, tsEcr: 0 } }));
    expect(c.readable).toBe(10);
    p.seq = seqAdd(p.seq, 10);
    c.process(2, from(p, Ack, { payload: bytes(10), timestamp: { tsVal: 900, tsEcr: 0 } }));
    expect(c.readable).toBe(10);
    const [ack] = flush(c, 2);
    expect(ack?.ackNumber).toBe(p.seq);
    expect(ack?.timestamp?.tsEcr).toBe(1001);
  });

  it('sends MSS-sized segments as views into the send buffer, and reports writable after a short write', () => {
    const { c, p } = established({ txBufferSize: 5000 });
    expect(c.writeSpace).toBe(5000);
    expect(c.write(bytes(6000))).toBe(5000);
    let payloads: Uint8Array[] = [];
    c.dispatch(0, (s) => payloads.push(s.payload));
    // IW = min(4*1000, max(2*1000, 4380)) = 4000 bytes, MSS 1000.
    expect(payloads.map((x) => x.length)).toEqual([1000, 1000, 1000, 1000]);
    expect(payloads[0]?.buffer).toBe(payloads[1]?.buffer); // views into one ring, not copies
    c.process(50, from(p, Ack, { ackNumber: seqAdd(p.ack, 2000) }));
    expect(types(c)).toEqual(['writable']);
    expect(c.writeSpace).toBe(2000);
    payloads = [];
    c.dispatch(50, (s) => payloads.push(s.payload.slice()));
    expect(payloads.map((x) => x.length)).toEqual([1000]);
    expect(payloads[0]).toEqual(bytes(6000).subarray(4000, 5000));
    expect(c.stats().cwnd).toBe(5000); // slow start: + at most one SMSS per ACK
  });

  it('retransmits on RTO with backoff; Karn: no RTT sample from a retransmitted segment', () => {
    // The SYN is retransmitted, so the handshake gives no sample either.
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    flush(c, 1000);
    const p: Peer = { seq: seqAdd(PEER_ISS, 1), ack: seqAdd(syn?.seqNumber ?? 0, 1), iss: PEER_ISS };
    c.process(1100, seg({ seqNumber: PEER_ISS, ackNumber: p.ack, flags: Syn | Ack, maxSegSize: 1000 }));
    expect(c.state).toBe('ESTABLISHED');
    expect(c.stats()).toMatchObject({ srtt: undefined, rto: 1000 });
    c.write(bytes(500));
    const [d] = flush(c, 1100);
    expect(c.pollAt()).toBe(2100);
    const [r1] = flush(c, 2100);
    expect(r1?.seqNumber).toBe(p.ack);
    expect(r1?.payload).toEqual(d?.payload);
    expect(c.pollAt()).toBe(4100);
    expect(c.stats()).toMatchObject({ retransmissions: 2, timeouts: 2, rto: 2000, cwnd: 1000 });
    c.process(2200, from(p, Ack, { ackNumber: seqAdd(p.ack, 500) }));
    expect(c.stats().srtt).toBeUndefined(); // ambiguous: not sampled
    expect(c.stats().rto).toBe(1000); // backoff dropped on new ACK
    expect(c.pollAt()).toBeUndefined();
    p.ack = seqAdd(p.ack, 500);
    c.write(bytes(100));
    flush(c, 3000);
    c.process(3080, from(p, Ack, { ackNumber: seqAdd(p.ack, 100) }));
    expect(c.stats().srtt).toBe(80);
    expect(c.stats().rto).toBe(240); // 80 + 4 * 40
  });

  it('gives up with timeout after maxRetries retransmissions', () => {
    const { c } = sending(100, { maxRetries: 2 });
    let now = 0;
    const seen: number[] = [];
    while (c.state !== 'CLOSED') {
      now = c.pollAt() ?? Infinity;
      expect(now).toBeLessThan(1e6);
      if (flush(c, now).length > 0) seen.push(now);
    }
    expect(seen).toEqual([200, 600]); // RTO 200 ms (min RTO: the handshake measured 0 ms), doubled
    expect(types(c)).toEqual(['closed:timeout']);
  });

  it('fast retransmit on the third duplicate ACK, NewReno recovery to the full ACK', () => {
    const { c, p, sent } = sending(4000);
    expect(sent.length).toBe(4);
    // Segment 0 lost: three dup ACKs with SACK for 1..3.
    for (let i = 1; i <= 3; i++) {
      c.process(10 + i, from(p, Ack, { sackBlocks: [{ left: seqAdd(p.ack, 1000), right: seqAdd(p.ack, 1000 * (i + 1)) }] }));
      const out = flush(c, 10 + i);
      if (i < 3) expect(out).toEqual([]);
      else {
        expect(out.length).toBe(1);
        expect(out[0]?.seqNumber).toBe(p.ack);
        expect(out[0]?.payload.length).toBe(1000);
      }
    }
    expect(c.stats()).toMatchObject({ fastRetransmits: 1, ssthresh: 2000, cwnd: 5000 });
    c.process(30, from(p, Ack, { ackNumber: seqAdd(p.ack, 4000) }));
    expect(c.stats()).toMatchObject({ cwnd: 2000, inFlight: 0 });
    expect(c.pollAt()).toBeUndefined();
  });

  it('retransmits only the holes the peer has not SACKed during recovery', () => {
    const { c, p } = sending(4000, { txBufferSize: 20000 });
    c.write(bytes(4000)); // more to send later
    const sack = (blocks: [number, number][]): TcpRepr =>
      from(p, Ack, { sackBlocks: blocks.map(([l, r]) => ({ left: seqAdd(p.ack, l), right: seqAdd(p.ack, r) })) });
    // Segments 0 and 2 lost; 1 and 3 arrive.
    c.process(10, sack([[1000, 2000]]));
    c.process(11, sack([[3000, 4000], [1000, 2000]]));
    c.process(12, sack([[3000, 4000], [1000, 2000]]));
    const out1 = flush(c, 12);
    expect(out1.map((s) => s.seqNumber)).toContain(p.ack); // fast retransmit of segment 0
    c.process(13, sack([[3000, 4000], [1000, 2000]]));
    const out2 = flush(c, 13);
    const rexmits = [...out1, ...out2].filter((s) => s.seqNumber !== seqAdd(p.ack, 4000) && seqAdd(s.seqNumber, 0) !== 0);
    const offsets = rexmits.map((s) => (s.seqNumber - p.ack) >>> 0).filter((o) => o < 4000);
    expect(offsets).toEqual([0, 2000]); // never 1000 or 3000
  });

  it('enters recovery when three segments are SACKed above a hole, whatever the dup ACK count (RFC 6675 §5)', () => {
    const { c, p } = sending(4000);
    // One ACK (the others were lost) SACKing segments 1..3: segment 0 is lost.
    c.process(10, from(p, Ack, { sackBlocks: [{ left: seqAdd(p.ack, 1000), right: seqAdd(p.ack, 4000) }] }));
    const out = flush(c, 10);
    expect(out.length).toBe(1);
    expect(out[0]?.seqNumber).toBe(p.ack);
    expect(out[0]?.payload.length).toBe(1000);
    expect(c.stats().fastRetransmits).toBe(1);
  });

  it('zero window: persist probes with backoff until the window reopens', () => {
    const { c, p } = established({}, { windowLen: 0 });
    expect(c.write(bytes(3000))).toBe(3000);
    expect(flush(c, 0)).toEqual([]);
    const probes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const at = c.pollAt() ?? Infinity;
      const [probe] = flush(c, at);
      expect(probe?.payload.length).toBe(1);
      expect(probe?.seqNumber).toBe(p.ack);
      probes.push(at);
      c.process(at + 10, from(p, Ack, { windowLen: 0 })); // still closed; the byte was dropped
    }
    expect(probes).toEqual([200, 600, 1400]); // RTO, then doubling
    expect(c.state).toBe('ESTABLISHED');
    c.process(2000, from(p, Ack, { windowLen: 2000 })); // window update
    const out = flush(c, 2000);
    expect(out.map((s) => s.payload.length)).toEqual([1000, 1000]);
    expect(out[0]?.seqNumber).toBe(p.ack);
    expect(c.stats().zeroWindowProbes).toBe(3);
  });

  it('keeps probing a zero window for as long as the peer answers', () => {
    const { c, p } = established({ maxRetries: 2, maxPersist: 5000 }, { windowLen: 0 });
    c.write(bytes(10));
    for (let i = 0; i < 10; i++) {
      const now = c.pollAt() ?? Infinity;
      expect(flush(c, now).length).toBe(1);
      c.process(now + 1, from(p, Ack, { windowLen: 0 }));
    }
    expect(c.state).toBe('ESTABLISHED');
  });

  it('the advertised window follows unread data; reading reopens it with a window update', () => {
    const { c, p } = established({ rxBufferSize: 4000, delayedAck: 0 });
    for (let i = 0; i < 4; i++) {
      c.process(i, from(p, Ack, { payload: bytes(1000) }));
      p.seq = seqAdd(p.seq, 1000);
    }
    const acks = flush(c, 4);
    expect(acks.at(-1)?.windowLen).toBe(0);
    c.process(5, from(p, Ack, { payload: bytes(1000) })); // beyond the window: dropped, ACKed
    expect(c.readable).toBe(4000);
    expect(flush(c, 5)[0]?.windowLen).toBe(0);
    expect(c.read(500)?.length).toBe(500); // less than an MSS: no update (receiver SWS avoidance)
    expect(flush(c, 6)).toEqual([]);
    expect(c.read(1000)?.length).toBe(1000);
    const [upd] = flush(c, 7);
    expect(upd?.windowLen).toBe(1500);
    expect(upd?.ackNumber).toBe(p.seq);
  });

  it('FIN: CLOSE-WAIT, eof after the data, immediate ACK', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin, { payload: bytes(10) }));
    expect(c.state).toBe('CLOSE-WAIT');
    expect(types(c)).toEqual(['readable', 'eof']);
    const [ack] = flush(c, 1);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 11));
  });

  it('a FIN ahead of a hole waits for the hole', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin, { seqNumber: seqAdd(p.seq, 10), payload: bytes(10) }));
    expect(c.state).toBe('ESTABLISHED');
    c.process(2, from(p, Ack, { payload: bytes(10) }));
    expect(c.state).toBe('CLOSE-WAIT');
    expect(c.readable).toBe(20);
  });

  it('abort sends a RST and closes', () => {
    const { c, p } = established();
    c.abort();
    expect(c.write(bytes(1))).toBe(0);
    const [rst] = flush(c, 1);
    expect(rst?.flags).toBe(Rst | Ack);
    expect(rst?.seqNumber).toBe(p.ack);
    expect(rst?.ackNumber).toBe(p.seq);
    expect(types(c)).toEqual(['closed:aborted']);
    expect(c.state).toBe('CLOSED');
  });

  it('an ACK for data never sent is answered with an ACK and ignored', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack, { ackNumber: seqAdd(p.ack, 10) }));
    const [ack] = flush(c, 1);
    expect(ack?.seqNumber).toBe(p.ack);
    expect(c.stats().inFlight).toBe(0);
  });
});

describe('FIN-WAIT-1', () => {
  it('sends the FIN after queued data; its ACK leads to FIN-WAIT-2', () => {
    const { c, p } = established();
    c.write(bytes(100));
    c.shutdown();
    expect(c.state).toBe('FIN-WAIT-1');
    expect(c.write(bytes(1))).toBe(0);
    const [s] = flush(c, 0);
    expect(s?.flags).toBe(Ack | Psh | Fin);
    expect(s?.payload.length).toBe(100);
    c.process(10, from(p, Ack, { ackNumber: seqAdd(p.ack, 100) }));
    expect(c.state).toBe('FIN-WAIT-1');
    c.process(11, from(p, Ack, { ackNumber: seqAdd(p.ack, 101) }));
    expect(c.state).toBe('FIN-WAIT-2');
  });

  it('FIN with the ACK of ours goes straight to TIME-WAIT', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(10, from(p, Ack | Fin, { ackNumber: seqAdd(p.ack, 1) }));
    expect(c.state).toBe('TIME-WAIT');
  });

  it('simultaneous close: FIN without our ACK -> CLOSING -> TIME-WAIT', () => {
    const { c, p } = established();
    c.shutdown();
    const [fin] = flush(c, 0);
    expect(has(fin, Fin)).toBe(true);
    c.process(10, from(p, Ack | Fin));
    expect(c.state).toBe('CLOSING');
    expect(types(c)).toEqual(['eof']);
    const [ack] = flush(c, 10);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
    c.process(11, from(p, Ack, { seqNumber: seqAdd(p.seq, 1), ackNumber: seqAdd(p.ack, 1) }));
    expect(c.state).toBe('TIME-WAIT');
  });

  it('retransmits the FIN on timeout; RST resets', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    const [again] = flush(c, 1000);
    expect(again?.flags).toBe(Ack | Fin);
    expect(again?.seqNumber).toBe(p.ack);
    c.process(1001, from(p, Rst));
    expect(types(c)).toEqual(['closed:reset']);
  });
});

describe('FIN-WAIT-2', () => {
  it('half-close: data still flows in, then the FIN leads to TIME-WAIT', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(5, from(p, Ack, { ackNumber: seqAdd(p.ack, 1) }));
    expect(c.state).toBe('FIN-WAIT-2');
    p.ack = seqAdd(p.ack, 1);
    c.process(6, from(p, Ack, { payload: bytes(3000) }));
    expect(c.read()).toEqual(bytes(3000));
    p.seq = seqAdd(p.seq, 3000);
    c.process(7, from(p, Ack | Fin));
    expect(c.state).toBe('TIME-WAIT');
    const [ack] = flush(c, 7);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
  });

  /** Our FIN sent at 0 and acknowledged at `at`: FIN-WAIT-2 (events drained). */
  function finWait2(o: Partial<TcpOptions> = {}, at = 5): { c: TcpConnection; p: Peer } {
    const { c, p } = established(o);
    c.shutdown();
    flush(c, 0);
    p.ack = seqAdd(p.ack, 1);
    c.process(at, from(p, Ack));
    expect(c.state).toBe('FIN-WAIT-2');
    types(c);
    return { c, p };
  }

  it('a peer that never sends its FIN is reset after finWait2Timeout (60 s by default)', () => {
    const { c, p } = finWait2();
    expect(c.pollAt()).toBe(60_005);
    expect(flush(c, 60_004)).toEqual([]);
    expect(c.state).toBe('FIN-WAIT-2');
    const out = flush(c, 60_005);
    expect(out).toHaveLength(1);
    expect(out[0]?.flags).toBe(Rst | Ack);
    expect(out[0]?.seqNumber).toBe(p.ack); // just past our FIN
    expect(out[0]?.ackNumber).toBe(p.seq);
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:timeout']);
    expect(c.pollAt()).toBeUndefined();
  });

  it('every segment from the peer restarts the timeout (a half-closed peer still sending is kept)', () => {
    const { c, p } = finWait2({ finWait2Timeout: 1000 });
    expect(c.pollAt()).toBe(1005);
    c.process(900, from(p, Ack, { payload: bytes(10) }));
    p.seq = seqAdd(p.seq, 10);
    flush(c, 900); // the ACK of the data (or it waits for the delayed-ACK timer)
    flush(c, 1005);
    expect(c.state).toBe('FIN-WAIT-2');
    expect(c.read()).toEqual(bytes(10));
    expect(flush(c, 1899)).toEqual([]);
    expect(c.state).toBe('FIN-WAIT-2');
    expect(flush(c, 1900)[0]?.flags).toBe(Rst | Ack);
    expect(types(c)).toEqual(['readable', 'closed:timeout']);
  });

  it('the FIN in time leads to TIME-WAIT, whose 2*MSL then applies', () => {
    const { c, p } = finWait2({ finWait2Timeout: 1000, msl: 5000 });
    c.process(999, from(p, Ack | Fin));
    expect(c.state).toBe('TIME-WAIT');
    flush(c, 999);
    expect(c.pollAt()).toBe(10_999);
    expect(flush(c, 1005)).toEqual([]);
    expect(c.state).toBe('TIME-WAIT');
  });

  it('finWait2Timeout 0 keeps FIN-WAIT-2 without a timer', () => {
    const { c } = finWait2({ finWait2Timeout: 0 });
    expect(c.pollAt()).toBeUndefined();
    expect(flush(c, 10_000_000)).toEqual([]);
    expect(c.state).toBe('FIN-WAIT-2');
  });
});

describe('CLOSE-WAIT', () => {
  it('half-close: we keep sending after the peer FIN, then LAST-ACK -> CLOSED', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin));
    p.seq = seqAdd(p.seq, 1);
    expect(c.state).toBe('CLOSE-WAIT');
    expect(c.write(bytes(2000))).toBe(2000);
    const out = flush(c, 1);
    expect(out.map((s) => s.payload.length)).toEqual([1000, 1000]);
    c.process(2, from(p, Ack, { ackNumber: seqAdd(p.ack, 2000) }));
    c.shutdown();
    expect(c.state).toBe('LAST-ACK');
    const [fin] = flush(c, 3);
    expect(fin?.flags).toBe(Ack | Fin);
    expect(fin?.seqNumber).toBe(seqAdd(p.ack, 2000));
    types(c);
    c.process(4, from(p, Ack, { ackNumber: seqAdd(p.ack, 2001) }));
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:normal']);
  });
});

describe('LAST-ACK', () => {
  it('retransmits the FIN until acknowledged; RST resets', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin));
    c.shutdown();
    const [fin] = flush(c, 1);
    const [again] = flush(c, 1001);
    expect(again?.seqNumber).toBe(fin?.seqNumber);
    expect(has(again, Fin)).toBe(true);
    c.process(1002, from(p, Rst, { seqNumber: seqAdd(p.seq, 1) }));
    expect(types(c)).toEqual(['eof', 'closed:reset']);
  });
});

describe('CLOSING', () => {
  it('a RST in CLOSING closes with reset', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(10, from(p, Ack | Fin));
    expect(c.state).toBe('CLOSING');
    c.process(11, from(p, Rst, { seqNumber: seqAdd(p.seq, 1) }));
    expect(c.state).toBe('CLOSED');
  });
});

describe('TIME-WAIT', () => {
  function timeWait(): { c: TcpConnection; p: Peer } {
    const { c, p } = established({ msl: 1000 });
    c.shutdown();
    flush(c, 0);
    c.process(10, from(p, Ack | Fin, { ackNumber: seqAdd(p.ack, 1) }));
    flush(c, 10);
    expect(c.state).toBe('TIME-WAIT');
    types(c);
    return { c, p };
  }

  it('closes after 2*MSL', () => {
    const { c } = timeWait();
    expect(c.pollAt()).toBe(2010);
    expect(flush(c, 2009)).toEqual([]);
    expect(c.state).toBe('TIME-WAIT');
    flush(c, 2010);
    expect(c.state).toBe('CLOSED');
    expect(types(c)).toEqual(['closed:normal']);
  });

  it('re-ACKs a retransmitted FIN and restarts the timer', () => {
    const { c, p } = timeWait();
    c.process(1500, from(p, Ack | Fin, { ackNumber: seqAdd(p.ack, 1) }));
    const [ack] = flush(c, 1500);
    expect(ack?.flags).toBe(Ack);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
    expect(c.pollAt()).toBe(3500);
  });

  it('answers a SYN with a challenge ACK', () => {
    const { c, p } = timeWait();
    c.process(20, from(p, Syn, { seqNumber: seqAdd(p.seq, 1000) }));
    expect(flush(c, 20)[0]?.flags).toBe(Ack);
    expect(c.state).toBe('TIME-WAIT');
  });
});

describe('CLOSED', () => {
  it('ignores segments and calls', () => {
    const { c, p } = established();
    c.process(1, from(p, Rst));
    types(c);
    c.process(2, from(p, Ack, { payload: bytes(10) }));
    expect(flush(c, 2)).toEqual([]);
    expect(c.write(bytes(1))).toBe(0);
    expect(c.pollAt()).toBeUndefined();
    expect(c.takeEvents()).toEqual([]);
  });
});

describe('resetFor', () => {
  it('answers per RFC 9293 §3.10.7.1', () => {
    const synRst = resetFor(seg({ seqNumber: 100, flags: Syn, payload: bytes(5) }));
    expect(synRst).toMatchObject({ srcPort: L.port, dstPort: R.port, seqNumber: 0, ackNumber: 106, flags: Rst | Ack });
    expect(resetFor(seg({ seqNumber: 100, ackNumber: 777, flags: Ack }))).toMatchObject({ seqNumber: 777, flags: Rst });
    expect(resetFor(seg({ flags: Rst | Ack }))).toBeUndefined();
    expect(resetFor(seg({ seqNumber: 0xffffffff, flags: Fin }))?.ackNumber).toBe(0);
  });
});

describe('RFC 7323 window scaling', () => {
  it("scales the peer's window by its shift, ours by ours, but not in SYNs", () => {
    const c = TcpConnection.connect(0, L, R, opts({ windowScaling: true, rxBufferSize: 256 * 1024 }));
    const [syn] = flush(c, 0);
    expect(syn?.windowScale).toBe(3);
    const iss = syn?.seqNumber ?? 0;
    c.process(1, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(iss, 1), flags: Syn | Ack, windowScale: 4, windowLen: 5000 }));
    expect(c.stats().sndWnd).toBe(5000);
    const [ack] = flush(c, 1);
    expect(ack?.windowLen).toBe((256 * 1024) >> 3);
    c.process(2, seg({ seqNumber: seqAdd(PEER_ISS, 1), ackNumber: seqAdd(iss, 1), flags: Ack, windowLen: 5000 }));
    expect(c.stats().sndWnd).toBe(5000 * 16);
  });

  it('clamps a shift above 14 (RFC 7323 §2.3)', () => {
    const c = TcpConnection.connect(0, L, R, opts({ windowScaling: true }));
    const [syn] = flush(c, 0);
    const iss = syn?.seqNumber ?? 0;
    c.process(1, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(iss, 1), flags: Syn | Ack, windowScale: 20 }));
    c.process(2, seg({ seqNumber: seqAdd(PEER_ISS, 1), ackNumber: seqAdd(iss, 1), flags: Ack, windowLen: 1 }));
    expect(c.stats().sndWnd).toBe(1 << 14);
  });
});

describe('FIN and RST in the closing states', () => {
  it('CLOSE-WAIT: a retransmitted FIN is re-ACKed; RST resets', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin));
    flush(c, 1);
    c.process(2, from(p, Ack | Fin));
    const [ack] = flush(c, 2);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
    expect(c.state).toBe('CLOSE-WAIT');
    c.process(3, from(p, Rst, { seqNumber: seqAdd(p.seq, 1) }));
    expect(types(c)).toEqual(['eof', 'closed:reset']);
  });

  it('CLOSING: a retransmitted FIN is re-ACKed and the state kept', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(10, from(p, Ack | Fin));
    flush(c, 10);
    c.process(20, from(p, Ack | Fin));
    const [ack] = flush(c, 20);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
    expect(c.state).toBe('CLOSING');
  });

  it('LAST-ACK: a retransmitted FIN is re-ACKed', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack | Fin));
    c.shutdown();
    flush(c, 1);
    c.process(2, from(p, Ack | Fin));
    const [ack] = flush(c, 2);
    expect(has(ack, Ack)).toBe(true);
    expect(ack?.ackNumber).toBe(seqAdd(p.seq, 1));
    expect(c.state).toBe('LAST-ACK');
  });

  it('FIN-WAIT-2: RST resets', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(5, from(p, Ack, { ackNumber: seqAdd(p.ack, 1) }));
    expect(c.state).toBe('FIN-WAIT-2');
    c.process(6, from(p, Rst));
    expect(types(c)).toEqual(['closed:reset']);
  });

  it('TIME-WAIT: an exact RST ends it (RFC 9293), an in-window one is challenged', () => {
    const { c, p } = established();
    c.shutdown();
    flush(c, 0);
    c.process(10, from(p, Ack | Fin, { ackNumber: seqAdd(p.ack, 1) }));
    flush(c, 10);
    types(c);
    c.process(11, from(p, Rst, { seqNumber: seqAdd(p.seq, 100) }));
    expect(flush(c, 11)[0]?.flags).toBe(Ack);
    expect(c.state).toBe('TIME-WAIT');
    c.process(12, from(p, Rst, { seqNumber: seqAdd(p.seq, 1) }));
    expect(types(c)).toEqual(['closed:normal']);
  });

  it('shutdown before the handshake completes sends the FIN right after it', () => {
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    expect(c.write(bytes(10))).toBe(10);
    c.shutdown();
    expect(c.state).toBe('SYN-SENT');
    c.process(1, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(syn?.seqNumber ?? 0, 1), flags: Syn | Ack, maxSegSize: 1000 }));
    expect(c.state).toBe('FIN-WAIT-1');
    const [d] = flush(c, 1);
    expect(d?.flags).toBe(Ack | Psh | Fin);
    expect(d?.payload).toEqual(bytes(10));
  });
});

describe('delayed ACK options', () => {
  it('delayedAck 0 ACKs every segment at once', () => {
    const { c, p } = established({ delayedAck: 0 });
    c.process(1, from(p, Ack, { payload: bytes(10) }));
    expect(c.pollAt()).toBe(1);
    expect(flush(c, 1)[0]?.ackNumber).toBe(seqAdd(p.seq, 10));
  });

  it('the ACK rides on outgoing data instead of waiting', () => {
    const { c, p } = established();
    c.process(1, from(p, Ack, { payload: bytes(10) }));
    c.write(bytes(5));
    const out = flush(c, 2);
    expect(out.length).toBe(1);
    expect(out[0]?.payload.length).toBe(5);
    expect(out[0]?.ackNumber).toBe(seqAdd(p.seq, 10));
    expect(c.pollAt()).toBe(202); // only the retransmission timer (RTO 200 ms) is left
  });
});

describe('SYN-RECEIVED (more)', () => {
  it('abort sends a RST,ACK the peer in SYN-SENT will believe', () => {
    const c = TcpConnection.accept(0, L, R, seg({ seqNumber: PEER_ISS, flags: Syn }), opts());
    const [sa] = flush(c, 0);
    c.abort();
    const [rst] = flush(c, 1);
    expect(rst).toMatchObject({ flags: Rst | Ack, seqNumber: seqAdd(sa?.seqNumber ?? 0, 1), ackNumber: seqAdd(PEER_ISS, 1) });
    expect(types(c)).toEqual(['closed:aborted']);
  });

  it('does not offer what the options turn off, even when the peer offers it', () => {
    const syn = seg({ seqNumber: PEER_ISS, flags: Syn, sackPermitted: true, windowScale: 7, timestamp: { tsVal: 9, tsEcr: 0 } });
    const c = TcpConnection.accept(0, L, R, syn, opts({ sack: false, timestamps: false, windowScaling: false }));
    const [sa] = flush(c, 0);
    expect(sa?.sackPermitted).toBe(false);
    expect(sa?.windowScale).toBeUndefined();
    expect(sa?.timestamp).toBeUndefined();
    expect(c.stats()).toMatchObject({ sack: false, timestamps: false, windowScaling: false });
  });

  it('echoes the timestamp and scales when the peer offered and we accept', () => {
    const syn = seg({ seqNumber: PEER_ISS, flags: Syn, windowScale: 2, timestamp: { tsVal: 9, tsEcr: 0 } });
    const c = TcpConnection.accept(0, L, R, syn, opts({ timestamps: true, windowScaling: true, rxBufferSize: 1 << 18 }));
    const [sa] = flush(c, 0);
    expect(sa?.timestamp?.tsEcr).toBe(9);
    expect(sa?.windowScale).toBe(3);
    expect(sa?.sackPermitted).toBe(false); // the peer did not offer SACK
  });

  it('an ACK carrying data and FIN completes the handshake and is taken', () => {
    const c = TcpConnection.accept(0, L, R, seg({ seqNumber: PEER_ISS, flags: Syn }), opts());
    const [sa] = flush(c, 0);
    c.process(1, seg({ seqNumber: seqAdd(PEER_ISS, 1), ackNumber: seqAdd(sa?.seqNumber ?? 0, 1), flags: Ack | Fin, payload: bytes(5) }));
    expect(c.state).toBe('CLOSE-WAIT');
    expect(types(c)).toEqual(['established', 'readable', 'eof']);
    expect(c.read()).toEqual(bytes(5));
  });
});

describe('SYN-SENT (more)', () => {
  it("simultaneous open where the peer's SYN,ACK overtakes ours leaves nothing pending", () => {
    const c = TcpConnection.connect(0, L, R, opts());
    const [syn] = flush(c, 0);
    const iss = syn?.seqNumber ?? 0;
    c.process(1, seg({ seqNumber: PEER_ISS, flags: Syn }));
    c.process(2, seg({ seqNumber: PEER_ISS, ackNumber: seqAdd(iss, 1), flags: Syn | Ack }));
    expect(c.state).toBe('ESTABLISHED');
    const out = flush(c, 2);
    expect(out.map((x) => x.flags)).toEqual([Ack]); // the peer's SYN is acknowledged
    expect(out[0]?.ackNumber).toBe(seqAdd(PEER_ISS, 1));
    expect(c.pollAt()).toBeUndefined();
  });
});
