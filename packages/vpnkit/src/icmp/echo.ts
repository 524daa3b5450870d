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

import { IpProtocol, Ipv4Address, type Icmpv4Repr, type Ipv4Repr } from '../wire/index.js';

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

  stats(): IcmpEchoStats {
    return { ...this.counters };
  }
}
