/**
 * ICMP echo for the gateway's own addresses (RFC 792, RFC 1122 §3.2.2.6).
 *
 *   "Echo or Echo Reply Message [...] To form an echo reply message, the
 *    source and destination addresses are simply reversed, the type code
 *    changed to 0, and the checksum recomputed."              (RFC 792)
 *
 *   "Every host MUST implement an ICMP Echo server function that receives
 *    Echo Requests and sends corresponding Echo Replies. [...] An ICMP
 *    Echo Request destined to an IP broadcast or IP multicast address MAY
 *    be silently discarded. [...] The IP source address in an ICMP Echo
 *    Reply MUST be the same as the specific-destination address [...] of
 *    the corresponding ICMP Echo Request message. [...] Data received in an
 *    ICMP Echo Request MUST be entirely included in the resulting Echo
 *    Reply."                                          (RFC 1122 §3.2.2.6)
 *
 * Pure: `process(ip, icmp)` returns the reply's IPv4 and ICMP reprs, or
 * undefined.  Broadcast/multicast requests are discarded (no smurf
 * amplification); so are requests from a non-unicast source.
 */

import { IpProtocol, Ipv4Address, internetChecksum, type EthernetAddress, type Icmpv4Repr, type Ipv4Repr } from '../wire/index.js';

export interface IcmpEchoOptions {
  /** The addresses the gateway answers pings for. */
  readonly addresses: readonly Ipv4Address[];
  /** TTL of replies (default 64). */
  readonly ttl?: number;
}

export interface IcmpEchoReply {
  readonly ip: Ipv4Repr;
  readonly icmp: Icmpv4Repr;
}

export interface IcmpEchoStats {
  requests: number;
  replies: number;
  /** Not for us, broadcast/multicast, or from a bad source. */
  ignored: number;
}

export class IcmpEcho {
  private readonly owned: Set<Ipv4Address>;
  private readonly ttl: number;
  private readonly counters = { requests: 0, replies: 0, ignored: 0 };

  constructor(opts: IcmpEchoOptions) {
    this.owned = new Set(opts.addresses.map((a) => a >>> 0));
    this.ttl = opts.ttl ?? 64;
  }

  owns(ip: Ipv4Address): boolean {
    return this.owned.has(ip >>> 0);
  }

  process(ip: Ipv4Repr, icmp: Icmpv4Repr): IcmpEchoReply | undefined {
    if (icmp.kind !== 'echoRequest') {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.requests++;
    if (!this.owned.has(ip.dst >>> 0) || !Ipv4Address.isUnicast(ip.src) || Ipv4Address.isLoopback(ip.src)) {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.replies++;
    const reply: Icmpv4Repr = { kind: 'echoReply', ident: icmp.ident, seqNo: icmp.seqNo, data: icmp.data };
    return {
      ip: {
        src: ip.dst,
        dst: ip.src,
        protocol: IpProtocol.Icmp,
        payloadLen: 8 + icmp.data.length,
        ttl: this.ttl,
        dscp: ip.dscp ?? 0,
      },
      icmp: reply,
    };
  }

  /**
   * The common request answered from the frame's bytes, without parsing it into reprs: a
   * plain Ethernet + IPv4 (no options, not a fragment, header checksum good) + ICMP echo
   * request (code 0, checksum good unless `verified`) to one of our addresses from a unicast,
   * non-loopback source.  Returns the whole reply frame (the same bytes `process` plus the
   * gateway's emitters give: addresses swapped, our MAC, TTL, DSCP kept and ECN cleared, no
   * flags, `ident`, ICMP type 0 with the identifier, sequence and data unchanged), or undefined
   * for anything else, which the caller then hands to the general path (so every refusal,
   * and its counting, stays in one place).  A reply is a new buffer: the request's bytes may
   * be a link's read buffer or kept by a capture.
   */
  answerFrame(frame: Uint8Array, gatewayMac: EthernetAddress, nextIdent: () => number, verified: boolean): Uint8Array | undefined {
    if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[14] !== 0x45 || frame[23] !== IpProtocol.Icmp) return undefined;
    const totalLen = ((frame[16] as number) << 8) | (frame[17] as number);
    if (totalLen < 28 || totalLen > frame.length - 14 || (((frame[20] as number) << 8) | (frame[21] as number)) & 0x3fff) return undefined;
    if (frame[34] !== 8 || frame[35] !== 0 || internetChecksum(frame, 14, 34) !== 0) return undefined;
    const dst = ((frame[30] as number) << 24) | ((frame[31] as number) << 16) | ((frame[32] as number) << 8) | (frame[33] as number);
    const src = (((frame[26] as number) << 24) | ((frame[27] as number) << 16) | ((frame[28] as number) << 8) | (frame[29] as number)) >>> 0;
    if (!this.owned.has(dst >>> 0) || !Ipv4Address.isUnicast(src) || Ipv4Address.isLoopback(src)) return undefined;
    const end = 14 + totalLen;
    if (!verified && internetChecksum(frame, 34, end) !== 0) return undefined;
    this.counters.requests++;
    this.counters.replies++;
    const out = new Uint8Array(end);
    out.set(frame.subarray(6, 12), 0); // to the sender's MAC
    out.set(gatewayMac, 6);
    out.set(frame.subarray(12, end), 12); // EtherType, IPv4 header, ICMP
    out[15] = (frame[15] as number) & 0xfc; // DSCP kept, ECN cleared
    const ident = nextIdent();
    out[18] = ident >>> 8;
    out[19] = ident & 0xff;
    out[20] = 0; // no flags, offset 0
    out[21] = 0;
    out[22] = this.ttl;
    out.set(frame.subarray(30, 34), 26); // source: the address that was pinged
    out.set(frame.subarray(26, 30), 30);
    out[24] = 0;
    out[25] = 0;
    const ipSum = internetChecksum(out, 14, 34);
    out[24] = ipSum >>> 8;
    out[25] = ipSum & 0xff;
    out[34] = 0; // echo reply
    out[36] = 0;
    out[37] = 0;
    const icmpSum = internetChecksum(out, 34, end);
    out[36] = icmpSum >>> 8;
    out[37] = icmpSum & 0xff;
    return out;
  }

  stats(): IcmpEchoStats {
    return { ...this.counters };
  }
}
