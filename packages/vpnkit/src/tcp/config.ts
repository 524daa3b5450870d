/**
 * Connection parameters and the segment type exchanged with the IP layer.
 *
 * RFC 9293 §3.7.1: "TCP endpoints MUST implement both sending and receiving
 * the MSS Option (MUST-14). ... If an MSS Option is not received at
 * connection setup, TCP endpoints MUST assume a default send MSS of 536
 * (576 - 40) for IPv4 or 1220 (1280 - 60) for IPv6 (MUST-15)."
 * RFC 9293 §3.8.1: "the RTO SHOULD be initialized to 1 second"; the
 * retransmission limits R1/R2 of §3.8.3 are `maxRetries`/`maxSynRetries`.
 * RFC 9293 §3.4.2 / §3.6.1: MSL, "arbitrarily defined to be 2 minutes";
 * TIME-WAIT lasts 2*MSL (here configurable, 30 s MSL by default like Linux's
 * 60 s TIME-WAIT).  RFC 9293 sets no bound on FIN-WAIT-2; like Linux
 * (tcp_fin_timeout, 60 s) an idle one is reset after `finWait2Timeout`.
 */

import type { IpAddress, TcpRepr } from '../wire/index.js';
import type { RandomSource } from './isn.js';
import type { BufferPool } from './pool.js';

/** One TCP segment with the IP addresses it travels between. */
export interface TcpSegment {
  src: IpAddress;
  dst: IpAddress;
  /** Header, options and data (`repr.payload`). */
  repr: TcpRepr;
}

export interface TcpEndpoint {
  addr: IpAddress;
  port: number;
}

export interface TcpOptions {
  /** Source of ISNs and timestamp offsets (uint32 per call).  Required. */
  random: RandomSource;
  /** Receive buffer (bytes): bounds the advertised window and out-of-order data. Default 65536. */
  rxBufferSize?: number;
  /** Send buffer (bytes): unacknowledged plus unsent data. Default 65536. */
  txBufferSize?: number;
  /** Link MTU; our MSS is MTU - 40 (IPv4) or MTU - 60 (IPv6). Default 1500. */
  mtu?: number;
  /** RFC 6298 timer parameters, ms. Defaults 1000 / 200 / 60000. */
  initialRto?: number;
  minRto?: number;
  maxRto?: number;
  /** Retransmissions of data/FIN before the connection times out. Default 8. */
  maxRetries?: number;
  /** Retransmissions of SYN or SYN/ACK before the connection times out. Default 5. */
  maxSynRetries?: number;
  /** Maximum segment lifetime, ms; TIME-WAIT lasts 2*msl. Default 30000. */
  msl?: number;
  /**
   * How long a connection may sit in FIN-WAIT-2 (our FIN acknowledged, the
   * peer's FIN not come) without a segment from the peer, ms; then it is
   * reset and closed with reason 'timeout'.  Any segment from the peer
   * restarts it, so a half-closed peer still sending is not cut off.
   * Default 60000 (Linux's tcp_fin_timeout); 0 disables it.
   */
  finWait2Timeout?: number;
  /** Delayed-ACK timeout, ms (0 = ACK every segment). Default 40. */
  delayedAck?: number;
  /** Offer/accept RFC 7323 window scaling. Default true. */
  windowScaling?: boolean;
  /** Offer/accept RFC 7323 timestamps. Default true. */
  timestamps?: boolean;
  /** RFC 7323 §5 PAWS check when timestamps are in use. Default true. */
  paws?: boolean;
  /** Offer/accept RFC 2018 SACK. Default true. */
  sack?: boolean;
  /** RFC 896 Nagle algorithm on the send side. Default false (the guest's own stack coalesces). */
  nagle?: boolean;
  /** Out-of-order queue bounds: separate ranges (holes) and bytes. Defaults 8 and rxBufferSize. */
  maxOutOfOrderRanges?: number;
  maxOutOfOrderBytes?: number;
  /** RFC 5961 §7 challenge-ACK rate limit: at most this many per second. Default 10. */
  challengeAckLimit?: number;
  /** Upper bound of the persist (zero-window probe) interval, ms. Default 60000. */
  maxPersist?: number;
  /**
   * Largest payload of one emitted segment, bytes (TCP segmentation offload:
   * the link, or the switch in software, cuts it into MSS-sized segments).
   * Default 0: one MSS per segment.  Retransmissions are always one MSS.
   */
  maxSegmentBytes?: number;
  /**
   * Budget shared with other connections for buffer storage past the first
   * 16 KiB of each direction (see `BufferPool`).  Without one, each buffer
   * may grow to its full size.
   */
  pool?: BufferPool | undefined;
}

export type ResolvedTcpOptions = Required<Omit<TcpOptions, 'pool'>> & { pool: BufferPool | undefined };

export function resolveOptions(o: TcpOptions): ResolvedTcpOptions {
  const rx = o.rxBufferSize ?? 65536;
  return {
    random: o.random,
    rxBufferSize: rx,
    txBufferSize: o.txBufferSize ?? 65536,
    mtu: o.mtu ?? 1500,
    initialRto: o.initialRto ?? 1000,
    minRto: o.minRto ?? 200,
    maxRto: o.maxRto ?? 60_000,
    maxRetries: o.maxRetries ?? 8,
    maxSynRetries: o.maxSynRetries ?? 5,
    msl: o.msl ?? 30_000,
    finWait2Timeout: o.finWait2Timeout ?? 60_000,
    delayedAck: o.delayedAck ?? 40,
    windowScaling: o.windowScaling ?? true,
    timestamps: o.timestamps ?? true,
    paws: o.paws ?? true,
    sack: o.sack ?? true,
    nagle: o.nagle ?? false,
    maxOutOfOrderRanges: o.maxOutOfOrderRanges ?? 8,
    maxOutOfOrderBytes: o.maxOutOfOrderBytes ?? rx,
    challengeAckLimit: o.challengeAckLimit ?? 10,
    maxPersist: o.maxPersist ?? 60_000,
    maxSegmentBytes: o.maxSegmentBytes ?? 0,
    pool: o.pool,
  };
}

/** The default send MSS when the peer sent no MSS option (RFC 9293 MUST-15). */
export function defaultMss(addr: IpAddress): number {
  return typeof addr === 'number' ? 536 : 1220;
}

/** Our MSS for a link MTU (IP header without options + TCP header). */
export function mssForMtu(mtu: number, addr: IpAddress): number {
  return Math.max(64, mtu - (typeof addr === 'number' ? 40 : 60));
}

/** Smallest RFC 7323 shift (<= 14) that lets a 16-bit field express `bufferSize`. */
export function windowShiftFor(bufferSize: number): number {
  let s = 0;
  while (s < 14 && Math.floor(bufferSize / 2 ** s) > 0xffff) s++;
  return s;
}
