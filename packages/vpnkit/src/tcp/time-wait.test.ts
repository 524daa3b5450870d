import { describe, expect, it } from 'vitest';
import { TcpFlags, type TcpRepr } from '../wire/tcp.js';
import { timeWaitInput, type TimeWait } from './time-wait.js';

const MSL = 30_000;

function tw(ts?: { offset: number; recent: number }): TimeWait {
  return { localPort: 80, remotePort: 40000, sndNxt: 7001, rcvNxt: 1002, window: 512, ts, until: 60_000 };
}

function seg(flags: number, seq: number, extra: Partial<TcpRepr> = {}): TcpRepr {
  return { srcPort: 40000, dstPort: 80, seqNumber: seq, ackNumber: 7001, flags, windowLen: 1000, payload: new Uint8Array(0), ...extra };
}

describe('TIME-WAIT without the connection (RFC 9293 §3.10.7.4, RFC 6191)', () => {
  it('a retransmitted FIN is acknowledged with our numbers and restarts 2*MSL', () => {
    const t = tw();
    const v = timeWaitInput(t, seg(TcpFlags.Fin | TcpFlags.Ack, 1001), 10_000, MSL);
    expect(v).toEqual({
      kind: 'ack',
      reply: { srcPort: 80, dstPort: 40000, seqNumber: 7001, ackNumber: 1002, flags: TcpFlags.Ack, windowLen: 512, timestamp: undefined, payload: new Uint8Array(0) },
    });
    expect(t.until).toBe(70_000);
  });

  it('with timestamps the ACK carries our clock and their last value', () => {
    const t = tw({ offset: 0xfffffff0, recent: 555 });
    const v = timeWaitInput(t, seg(TcpFlags.Fin | TcpFlags.Ack, 1001), 100, MSL);
    expect(v.kind === 'ack' && v.reply.timestamp).toEqual({ tsVal: (100 + 0xfffffff0) >>> 0, tsEcr: 555 });
  });

  it('a bare ACK is dropped; a segment with data is answered with an ACK', () => {
    expect(timeWaitInput(tw(), seg(TcpFlags.Ack, 1002), 0, MSL).kind).toBe('drop');
    expect(timeWaitInput(tw(), seg(TcpFlags.Ack, 1002, { payload: Uint8Array.of(1) }), 0, MSL).kind).toBe('ack');
  });

  it('a RST ends TIME-WAIT only when its sequence number is exactly the next expected', () => {
    expect(timeWaitInput(tw(), seg(TcpFlags.Rst, 1002), 0, MSL).kind).toBe('close');
    expect(timeWaitInput(tw(), seg(TcpFlags.Rst, 1003), 0, MSL).kind).toBe('drop');
    expect(timeWaitInput(tw(), seg(TcpFlags.Rst, 900), 0, MSL).kind).toBe('drop');
  });

  it('a SYN reopens when its sequence number is past the old connection, else gets an ACK', () => {
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn, 50_000), 0, MSL).kind).toBe('reopen');
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn, 1002), 0, MSL).kind).toBe('ack');
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn, 500), 0, MSL).kind).toBe('ack');
    // Sequence arithmetic wraps: 2^31 - 1 past rcvNxt is "after", 2^31 + 1 past is "before".
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn, (1002 + 0x7fffffff) >>> 0), 0, MSL).kind).toBe('reopen');
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn, (1002 + 0x80000001) >>> 0), 0, MSL).kind).toBe('ack');
  });

  it('with timestamps on both, a SYN reopens on a newer timestamp whatever its sequence number', () => {
    const t = tw({ offset: 0, recent: 1000 });
    expect(timeWaitInput(t, seg(TcpFlags.Syn, 5, { timestamp: { tsVal: 1001, tsEcr: 0 } }), 0, MSL).kind).toBe('reopen');
    expect(timeWaitInput(t, seg(TcpFlags.Syn, 50_000, { timestamp: { tsVal: 999, tsEcr: 0 } }), 0, MSL).kind).toBe('ack');
    // Without a timestamp on the SYN the sequence number decides.
    expect(timeWaitInput(t, seg(TcpFlags.Syn, 50_000), 0, MSL).kind).toBe('reopen');
  });

  it('a SYN with ACK is not a new connection: answered with an ACK', () => {
    expect(timeWaitInput(tw(), seg(TcpFlags.Syn | TcpFlags.Ack, 50_000), 0, MSL).kind).toBe('ack');
  });
});
