/**
 * The reset answering a segment that has no connection (RFC 9293 §3.10.7.1,
 * "CLOSED STATE"):
 *
 *   "If the state is CLOSED (i.e., TCB does not exist), then all data in the
 *   incoming segment is discarded.  An incoming segment containing a RST is
 *   discarded.  An incoming segment not containing a RST causes a RST to be
 *   sent in response.  The acknowledgment and sequence field values are
 *   selected to make the reset sequence acceptable to the TCP endpoint that
 *   sent the offending segment.
 *
 *   If the ACK bit is off, sequence number zero is used,
 *       <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
 *   If the ACK bit is on,
 *       <SEQ=SEG.ACK><CTL=RST>"
 */

import { TcpFlags, TcpRepr } from '../wire/tcp.js';
import { seqAdd } from './seq.js';

const EMPTY = new Uint8Array(0);

/** The RST for `seg` (ports swapped); undefined when `seg` is itself a RST. */
export function resetFor(seg: TcpRepr): TcpRepr | undefined {
  if (seg.flags & TcpFlags.Rst) return undefined;
  const base = { srcPort: seg.dstPort, dstPort: seg.srcPort, windowLen: 0, payload: EMPTY };
  if (seg.flags & TcpFlags.Ack) return { ...base, seqNumber: seg.ackNumber, ackNumber: 0, flags: TcpFlags.Rst };
  return {
    ...base,
    seqNumber: 0,
    ackNumber: seqAdd(seg.seqNumber, TcpRepr.segmentLen(seg)),
    flags: TcpFlags.Rst | TcpFlags.Ack,
  };
}
