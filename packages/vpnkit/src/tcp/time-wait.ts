/**
 * TIME-WAIT without the connection: what is left of a connection that
 * closed first once both FINs are through (RFC 9293 §3.6), small enough to
 * keep tens of thousands of them for 2*MSL.
 *
 * A whole `TcpConnection` held for the 60 s of TIME-WAIT cost about 6 KB of
 * heap and a place in the NAT's connection table: a guest that opened
 * connections to servers that close first (HTTP/1.0, `Connection: close`)
 * at a few hundred per second filled the table within a minute, after which
 * new connections were refused; and every one of those objects was copied
 * by the garbage collector on its way to the old generation.
 *
 * Segments arriving in TIME-WAIT (RFC 9293 §3.10.7.4, the TIME-WAIT cases):
 *
 *   "The only thing that can arrive in this state is a retransmission of
 *   the remote FIN.  Acknowledge it, and restart the 2 MSL timeout."
 *
 * and a new SYN for the same pair of ends may reopen it (RFC 6191, as Linux
 * does): when its sequence number is past what the old connection used, or,
 * with timestamps, its timestamp is newer.  A RST that matches exactly ends
 * TIME-WAIT early (Linux's default; RFC 1337 discusses the risk); any other
 * segment carrying anything is answered with an ACK; a bare ACK is dropped.
 */

import { TcpFlags, type TcpRepr } from '../wire/tcp.js';
import { seqGt } from './seq.js';

const EMPTY = new Uint8Array(0);

export interface TimeWait {
  /** Our port and theirs. */
  readonly localPort: number;
  readonly remotePort: number;
  /** Our next sequence number (past our FIN) and the next we expect (past theirs). */
  readonly sndNxt: number;
  readonly rcvNxt: number;
  /** The window field our ACKs carry. */
  readonly window: number;
  /** With timestamps: the offset of our timestamp clock, and their last timestamp. */
  readonly ts: { readonly offset: number; readonly recent: number } | undefined;
  /** When TIME-WAIT ends (ms, the stack's clock). */
  until: number;
}

export type TimeWaitVerdict =
  /** Answer with `reply`; TIME-WAIT goes on. */
  | { readonly kind: 'ack'; readonly reply: TcpRepr }
  /** Nothing to do. */
  | { readonly kind: 'drop' }
  /** TIME-WAIT is over (a matching RST). */
  | { readonly kind: 'close' }
  /** A new connection may start with this SYN: forget TIME-WAIT and treat it as new. */
  | { readonly kind: 'reopen' };

const DROP: TimeWaitVerdict = { kind: 'drop' };
const CLOSE: TimeWaitVerdict = { kind: 'close' };
const REOPEN: TimeWaitVerdict = { kind: 'reopen' };

/** What a segment for a connection in TIME-WAIT does; a retransmitted FIN restarts the timer (`tw.until`). */
export function timeWaitInput(tw: TimeWait, seg: TcpRepr, now: number, msl: number): TimeWaitVerdict {
  const f = seg.flags;
  if (f & TcpFlags.Rst) return seg.seqNumber === tw.rcvNxt ? CLOSE : DROP;
  if (f & TcpFlags.Syn) {
    if (f & TcpFlags.Ack) return ack(tw, now);
    // RFC 6191 §2: timestamps decide when both connections have them, sequence numbers otherwise.
    const newer =
      tw.ts !== undefined && seg.timestamp !== undefined ? seqGt(seg.timestamp.tsVal, tw.ts.recent) : seqGt(seg.seqNumber, tw.rcvNxt);
    return newer ? REOPEN : ack(tw, now);
  }
  if (f & TcpFlags.Fin) {
    tw.until = now + 2 * msl;
    return ack(tw, now);
  }
  return seg.payload.length > 0 ? ack(tw, now) : DROP;
}

function ack(tw: TimeWait, now: number): TimeWaitVerdict {
  return {
    kind: 'ack',
    reply: {
      srcPort: tw.localPort,
      dstPort: tw.remotePort,
      seqNumber: tw.sndNxt,
      ackNumber: tw.rcvNxt,
      flags: TcpFlags.Ack,
      windowLen: tw.window,
      timestamp: tw.ts === undefined ? undefined : { tsVal: (now + tw.ts.offset) >>> 0, tsEcr: tw.ts.recent },
      payload: EMPTY,
    },
  };
}
