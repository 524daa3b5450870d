/**
 * TCP segment header (RFC 9293 §3.1) and options (RFC 9293 §3.2, RFC 7323
 * window scale and timestamps, RFC 2018 SACK).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          Source Port          |       Destination Port        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        Sequence Number                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Acknowledgment Number                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Data |       |C|E|U|A|P|R|S|F|                               |
 *    | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *    |       |       |R|E|G|K|H|T|N|N|                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           Checksum            |         Urgent Pointer        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           [Options]                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               :
 *    :                             Data                              :
 *    :                                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Data Offset: "The number of 32-bit words in the TCP header."
 *   Options: "Case 1: A single octet of option-kind.  Case 2: An octet of
 *   option-kind (Kind), an octet of option-length, and the actual
 *   option-data octets.  The option-length counts the two octets of
 *   option-kind and option-length as well as the option-data octets."
 *
 *     Kind  Length  Meaning
 *        0       -  End of Option List                  (RFC 9293)
 *        1       -  No-Operation                        (RFC 9293)
 *        2       4  Maximum Segment Size                (RFC 9293)
 *        3       3  Window Scale (shift.cnt)            (RFC 7323 §2.2)
 *        4       2  SACK-Permitted                      (RFC 2018 §2)
 *        5  2+8*n   SACK, n blocks of (Left, Right)     (RFC 2018 §3)
 *        8      10  Timestamps (TSval, TSecr)           (RFC 7323 §3.2)
 *
 * The four reserved bits are read by the view but ignored by `TcpRepr`
 * (and emitted as zero).  Option values are reported raw: clamping a window
 * scale above 14 (RFC 7323 §2.3) or ignoring an MSS of 0 is the TCP
 * layer's business.
 */

import type { IpAddress } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { checksumFinish, checksumVerifies, onesSum, pseudoHeaderSum } from './checksum.js';
import { ensureCapacity, ensureUint, type EmitOptions, type ParseOptions } from './common.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';

export const TcpFlags = {
  Fin: 0x01,
  Syn: 0x02,
  Rst: 0x04,
  Psh: 0x08,
  Ack: 0x10,
  Urg: 0x20,
  Ece: 0x40,
  Cwr: 0x80,
} as const;

export const TcpOptionKind = {
  EndOfList: 0,
  Nop: 1,
  Mss: 2,
  WindowScale: 3,
  SackPermitted: 4,
  Sack: 5,
  Timestamp: 8,
} as const;

const F = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  DOFF: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
} as const;

const P = 'tcp';

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;
/** The most SACK blocks that fit in 40 option bytes (RFC 2018 §3). */
export const TCP_MAX_SACK_BLOCKS = 4;

export class TcpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  /** The buffer must be exactly the segment (the IP payload). */
  static checked(buffer: Uint8Array): TcpPacket {
    if (buffer.length < TCP_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    const p = new TcpPacket(buffer);
    const hl = p.headerLen;
    if (hl < TCP_HEADER_LEN) throw new WireError('BAD_HEADER_LEN', P, `data offset ${hl >> 2}`);
    if (hl > buffer.length) throw new WireError('TRUNCATED', P, `data offset says ${hl} bytes, have ${buffer.length}`);
    return p;
  }

  static unchecked(buffer: Uint8Array): TcpPacket {
    return new TcpPacket(buffer);
  }

  get srcPort(): number {
    return getU16(this.buffer, F.SRC_PORT);
  }
  set srcPort(v: number) {
    setU16(this.buffer, F.SRC_PORT, v);
  }
  get dstPort(): number {
    return getU16(this.buffer, F.DST_PORT);
  }
  set dstPort(v: number) {
    setU16(this.buffer, F.DST_PORT, v);
  }
  get seqNumber(): number {
    return getU32(this.buffer, F.SEQ);
  }
  set seqNumber(v: number) {
    setU32(this.buffer, F.SEQ, v);
  }
  get ackNumber(): number {
    return getU32(this.buffer, F.ACK);
  }
  set ackNumber(v: number) {
    setU32(this.buffer, F.ACK, v);
  }

  /** Header length in bytes (data offset * 4). */
  get headerLen(): number {
    return (getU8(this.buffer, F.DOFF) >> 4) * 4;
  }
  /** Set in bytes (a multiple of 4 in [20, 60]); clears the reserved bits. */
  set headerLen(v: number) {
    setU8(this.buffer, F.DOFF, ((v >> 2) & 0xf) << 4);
  }
  /** The four reserved bits after the data offset. */
  get reserved(): number {
    return getU8(this.buffer, F.DOFF) & 0x0f;
  }

  /** The eight flag bits (see `TcpFlags`). */
  get flags(): number {
    return getU8(this.buffer, F.FLAGS);
  }
  set flags(v: number) {
    setU8(this.buffer, F.FLAGS, v);
  }
  get fin(): boolean {
    return (this.flags & TcpFlags.Fin) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TcpFlags.Syn) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TcpFlags.Rst) !== 0;
  }
  get psh(): boolean {
    return (this.flags & TcpFlags.Psh) !== 0;
  }
  get ack(): boolean {
    return (this.flags & TcpFlags.Ack) !== 0;
  }
  get urg(): boolean {
    return (this.flags & TcpFlags.Urg) !== 0;
  }
  get ece(): boolean {
    return (this.flags & TcpFlags.Ece) !== 0;
  }
  get cwr(): boolean {
    return (this.flags & TcpFlags.Cwr) !== 0;
  }

  /** The raw (unscaled) window field. */
  get windowLen(): number {
    return getU16(this.buffer, F.WINDOW);
  }
  set windowLen(v: number) {
    setU16(this.buffer, F.WINDOW, v);
  }
  get checksum(): number {
    return getU16(this.buffer, F.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buffer, F.CHECKSUM, v);
  }
  get urgentPointer(): number {
    return getU16(this.buffer, F.URGENT);
  }
  set urgentPointer(v: number) {
    setU16(this.buffer, F.URGENT, v);
  }

  /** The options area (a view). */
  get options(): Uint8Array {
    return this.buffer.subarray(F.OPTIONS, Math.max(F.OPTIONS, this.headerLen));
  }

  /** The data (a view). */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.headerLen);
  }

  /** Sequence space consumed: data length + SYN + FIN. */
  get segmentLen(): number {
    return this.payload.length + (this.syn ? 1 : 0) + (this.fin ? 1 : 0);
  }

  verifyChecksum(src: IpAddress, dst: IpAddress): boolean {
    const len = this.buffer.length;
    return checksumVerifies(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Tcp, len)));
  }

  fillChecksum(src: IpAddress, dst: IpAddress): void {
    this.checksum = 0;
    const len = this.buffer.length;
    this.checksum = checksumFinish(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Tcp, len)));
  }
}

// ---------------------------------------------------------------------------
// Options

export interface TcpSackBlock {
  left: number;
  right: number;
}

export interface TcpTimestamp {
  tsVal: number;
  tsEcr: number;
}

export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'windowScale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: TcpSackBlock[] }
  | { kind: 'timestamp'; tsVal: number; tsEcr: number }
  | { kind: 'unknown'; type: number; data: Uint8Array };

function badOption(detail: string): WireError {
  return new WireError('BAD_OPTION', P, detail);
}

/**
 * Validate the option at `i` and return its length in bytes (1 for NOP, 0
 * for End of Option List).  Throws `BAD_OPTION` for a missing or too-small
 * length, an option running past the area, or a known kind with the wrong
 * length.  Allocation-free: the shared core of `tcpOptions` and `TcpRepr.parse`.
 */
function optionLenAt(options: Uint8Array, i: number): number {
  const kind = getU8(options, i);
  if (kind === TcpOptionKind.EndOfList) return 0;
  if (kind === TcpOptionKind.Nop) return 1;
  if (i + 1 >= options.length) throw badOption(`kind ${kind} at ${i} has no length`);
  const len = getU8(options, i + 1);
  if (len < 2) throw badOption(`kind ${kind} has length ${len}`);
  if (i + len > options.length) throw badOption(`kind ${kind} of length ${len} runs past the options`);
  switch (kind) {
    case TcpOptionKind.Mss:
      if (len !== 4) throw badOption(`MSS length ${len}`);
      break;
    case TcpOptionKind.WindowScale:
      if (len !== 3) throw badOption(`window scale length ${len}`);
      break;
    case TcpOptionKind.SackPermitted:
      if (len !== 2) throw badOption(`SACK-permitted length ${len}`);
      break;
    case TcpOptionKind.Sack:
      if ((len - 2) % 8 !== 0 || len < 10 || len > 2 + 8 * TCP_MAX_SACK_BLOCKS) throw badOption(`SACK length ${len}`);
      break;
    case TcpOptionKind.Timestamp:
      if (len !== 10) throw badOption(`timestamp length ${len}`);
      break;
    default:
      break;
  }
  return len;
}

function sackBlocksAt(options: Uint8Array, at: number, len: number): TcpSackBlock[] {
  const blocks: TcpSackBlock[] = [];
  for (let o = at + 2; o < at + len; o += 8) blocks.push({ left: getU32(options, o), right: getU32(options, o + 4) });
  return blocks;
}

/**
 * Iterate the options of `options` (a TCP header's option area).  Stops
 * after End of Option List (which is yielded) or at the end of the area;
 * unknown kinds are yielded as `unknown` and skipped by their length.
 * Throws `BAD_OPTION` for a missing or too-small length, an option running
 * past the area, or a known kind with the wrong length.  Bounded: each step
 * consumes at least one byte of the (<= 40-byte) area.
 */
export function* tcpOptions(options: Uint8Array): Generator<TcpOption, void, undefined> {
  for (let i = 0; i < options.length; ) {
    const len = optionLenAt(options, i);
    const kind = getU8(options, i);
    switch (kind) {
      case TcpOptionKind.EndOfList:
        yield { kind: 'eol' };
        return;
      case TcpOptionKind.Nop:
        yield { kind: 'nop' };
        break;
      case TcpOptionKind.Mss:
        yield { kind: 'mss', value: getU16(options, i + 2) };
        break;
      case TcpOptionKind.WindowScale:
        yield { kind: 'windowScale', shift: getU8(options, i + 2) };
        break;
      case TcpOptionKind.SackPermitted:
        yield { kind: 'sackPermitted' };
        break;
      case TcpOptionKind.Sack:
        yield { kind: 'sack', blocks: sackBlocksAt(options, i, len) };
        break;
      case TcpOptionKind.Timestamp:
        yield { kind: 'timestamp', tsVal: getU32(options, i + 2), tsEcr: getU32(options, i + 6) };
        break;
      default:
        yield { kind: 'unknown', type: kind, data: options.subarray(i + 2, i + len) };
    }
    i += len;
  }
}

// ---------------------------------------------------------------------------
// Repr

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seqNumber: number;
  /** Meaningful only when `flags` has Ack; emitted as given. */
  ackNumber: number;
  /** Bitmask of `TcpFlags`. */
  flags: number;
  /** Raw window field (before scaling). */
  windowLen: number;
  /** Default 0. */
  urgentPointer?: number;
  maxSegSize?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  /** 1..4 blocks (at most 3 fit together with timestamps). */
  sackBlocks?: readonly TcpSackBlock[];
  timestamp?: TcpTimestamp;
  /** The data: a view into the segment after `parse`; copied by `emit`. */
  payload: Uint8Array;
}

/** Bytes the options of `repr` take in the layout `emit` writes. */
function optionsLen(repr: TcpRepr): number {
  let n = 0;
  if (repr.maxSegSize !== undefined) n += 4;
  if (repr.timestamp !== undefined) n += 12; // [SACK-permitted | NOP NOP] + TS
  else if (repr.sackPermitted) n += 4; // NOP NOP SACK-permitted
  if (repr.windowScale !== undefined) n += 4; // NOP + WS
  const blocks = repr.sackBlocks?.length ?? 0;
  if (blocks > 0) n += 4 + 8 * blocks; // NOP NOP + SACK
  return n;
}

export const TcpRepr = {
  /**
   * Read the header and options.  Unknown options are skipped; the last of
   * a repeated option wins.  `src`/`dst` are the IP addresses (for the
   * pseudo-header checksum).
   */
  parse(packet: TcpPacket, src: IpAddress, dst: IpAddress, opts?: ParseOptions): TcpRepr {
    if (opts?.verifyChecksum !== false && !packet.verifyChecksum(src, dst)) {
      throw new WireError('BAD_CHECKSUM', P, `checksum 0x${packet.checksum.toString(16)}`);
    }
    const repr: TcpRepr = {
      srcPort: packet.srcPort,
      dstPort: packet.dstPort,
      seqNumber: packet.seqNumber,
      ackNumber: packet.ackNumber,
      flags: packet.flags,
      windowLen: packet.windowLen,
      urgentPointer: packet.urgentPointer,
      payload: packet.payload,
    };
    // The same walk as `tcpOptions`, without a generator or per-option objects.
    const o = packet.options;
    for (let i = 0; i < o.length; ) {
      const len = optionLenAt(o, i);
      if (len === 0) break; // End of Option List
      switch (getU8(o, i)) {
        case TcpOptionKind.Mss:
          repr.maxSegSize = getU16(o, i + 2);
          break;
        case TcpOptionKind.WindowScale:
          repr.windowScale = getU8(o, i + 2);
          break;
        case TcpOptionKind.SackPermitted:
          repr.sackPermitted = true;
          break;
        case TcpOptionKind.Sack:
          repr.sackBlocks = sackBlocksAt(o, i, len);
          break;
        case TcpOptionKind.Timestamp:
          repr.timestamp = { tsVal: getU32(o, i + 2), tsEcr: getU32(o, i + 6) };
          break;
        default:
          break; // NOP and unknown kinds
      }
      i += len;
    }
    return repr;
  },

  /** Header + options, a multiple of 4. */
  headerLen(repr: TcpRepr): number {
    return TCP_HEADER_LEN + ((optionsLen(repr) + 3) & ~3);
  },

  bufferLen(repr: TcpRepr): number {
    return TcpRepr.headerLen(repr) + repr.payload.length;
  },

  /** Sequence space consumed: data length + SYN + FIN. */
  segmentLen(repr: TcpRepr): number {
    return repr.payload.length + (repr.flags & TcpFlags.Syn ? 1 : 0) + (repr.flags & TcpFlags.Fin ? 1 : 0);
  },

  /**
   * Write header, options and payload into `packet`, whose buffer must
   * hold `bufferLen(repr)` bytes (the checksum covers exactly those; pass a
   * buffer of exactly that size to keep `packet.payload` meaningful).  Options are laid out as Linux does, so they are
   * 4-byte aligned without padding:
   *   MSS; SACK-permitted+TS | NOP NOP TS | NOP NOP SACK-permitted;
   *   NOP WS; NOP NOP SACK.
   * Throws `INVALID_REPR` if the options exceed 40 bytes.
   */
  emit(repr: TcpRepr, packet: TcpPacket, src: IpAddress, dst: IpAddress, opts?: EmitOptions): TcpPacket {
    const olen = optionsLen(repr);
    if (olen > TCP_MAX_HEADER_LEN - TCP_HEADER_LEN) {
      throw new WireError('INVALID_REPR', P, `options need ${olen} bytes, at most 40 fit`);
    }
    const hl = TCP_HEADER_LEN + ((olen + 3) & ~3);
    ensureCapacity(packet.buffer, hl + repr.payload.length, P);
    ensureUint(repr.srcPort, 0xffff, P, 'srcPort');
    ensureUint(repr.dstPort, 0xffff, P, 'dstPort');
    ensureUint(repr.seqNumber, 0xffffffff, P, 'seqNumber');
    ensureUint(repr.ackNumber, 0xffffffff, P, 'ackNumber');
    ensureUint(repr.flags, 0xff, P, 'flags');
    ensureUint(repr.windowLen, 0xffff, P, 'windowLen');
    ensureUint(repr.urgentPointer ?? 0, 0xffff, P, 'urgentPointer');
    if (repr.maxSegSize !== undefined) ensureUint(repr.maxSegSize, 0xffff, P, 'maxSegSize');
    if (repr.windowScale !== undefined) ensureUint(repr.windowScale, 0xff, P, 'windowScale');
    if (repr.timestamp !== undefined) {
      ensureUint(repr.timestamp.tsVal, 0xffffffff, P, 'timestamp.tsVal');
      ensureUint(repr.timestamp.tsEcr, 0xffffffff, P, 'timestamp.tsEcr');
    }
    for (const b of repr.sackBlocks ?? []) {
      ensureUint(b.left, 0xffffffff, P, 'sack.left');
      ensureUint(b.right, 0xffffffff, P, 'sack.right');
    }

    const b = packet.buffer;
    packet.srcPort = repr.srcPort;
    packet.dstPort = repr.dstPort;
    packet.seqNumber = repr.seqNumber;
    packet.ackNumber = repr.ackNumber;
    packet.headerLen = hl;
    packet.flags = repr.flags;
    packet.windowLen = repr.windowLen;
    packet.checksum = 0;
    packet.urgentPointer = repr.urgentPointer ?? 0;

    let i: number = F.OPTIONS;
    if (repr.maxSegSize !== undefined) {
      b[i++] = TcpOptionKind.Mss;
      b[i++] = 4;
      setU16(b, i, repr.maxSegSize);
      i += 2;
    }
    if (repr.timestamp !== undefined) {
      if (repr.sackPermitted) {
        b[i++] = TcpOptionKind.SackPermitted;
        b[i++] = 2;
      } else {
        b[i++] = TcpOptionKind.Nop;
        b[i++] = TcpOptionKind.Nop;
      }
      b[i++] = TcpOptionKind.Timestamp;
      b[i++] = 10;
      setU32(b, i, repr.timestamp.tsVal);
      setU32(b, i + 4, repr.timestamp.tsEcr);
      i += 8;
    } else if (repr.sackPermitted) {
      b[i++] = TcpOptionKind.Nop;
      b[i++] = TcpOptionKind.Nop;
      b[i++] = TcpOptionKind.SackPermitted;
      b[i++] = 2;
    }
    if (repr.windowScale !== undefined) {
      b[i++] = TcpOptionKind.Nop;
      b[i++] = TcpOptionKind.WindowScale;
      b[i++] = 3;
      b[i++] = repr.windowScale;
    }
    const blocks = repr.sackBlocks ?? [];
    if (blocks.length > 0) {
      b[i++] = TcpOptionKind.Nop;
      b[i++] = TcpOptionKind.Nop;
      b[i++] = TcpOptionKind.Sack;
      b[i++] = 2 + 8 * blocks.length;
      for (const s of blocks) {
        setU32(b, i, s.left);
        setU32(b, i + 4, s.right);
        i += 8;
      }
    }
    // Pad to the data offset with End of Option List (zero) octets.
    b.fill(TcpOptionKind.EndOfList, i, hl);
    b.set(repr.payload, hl);
    if (opts?.fillChecksum !== false) {
      TcpPacket.unchecked(b.subarray(0, hl + repr.payload.length)).fillChecksum(src, dst);
    }
    return packet;
  },
};
