/**
 * ICMPv6 echo for the gateway's own addresses (RFC 4443 §4.1-4.2).
 *
 *   "Every node MUST implement an ICMPv6 Echo responder function that
 *    receives Echo Requests and originates corresponding Echo Replies."
 *   "The data received in the ICMPv6 Echo Request message MUST be returned
 *    entirely and unmodified in the ICMPv6 Echo Reply message."  (§4.2)
 *   "An Echo Reply SHOULD be sent in response to an Echo Request message
 *    sent to an IPv6 multicast or anycast address." (§4.2) -- we do not:
 *    a multicast ping from one guest would make the gateway answer for all.
 *
 * Pure: `process(ip, icmp)` returns the reply's IPv6 header fields and
 * message, or undefined.  Requests from a multicast or unspecified source
 * are ignored (no reflection).
 */

import { IpProtocol, Ipv6Address, type Icmpv6Repr, type Ipv6Repr } from '../wire/index.js';
import type { IcmpEchoStats } from './echo.js';

export interface Icmpv6EchoOptions {
  /** True for the addresses the gateway answers pings for. */
  readonly owns: (addr: Ipv6Address) => boolean;
  /** Hop limit of replies (default 64). */
  readonly hopLimit?: number;
}

export interface Icmpv6EchoReply {
  readonly ip: Ipv6Repr;
  readonly icmp: Icmpv6Repr;
}

export class Icmpv6Echo {
  private readonly owns: (addr: Ipv6Address) => boolean;
  private readonly hopLimit: number;
  private readonly counters = { requests: 0, replies: 0, ignored: 0 };

  constructor(opts: Icmpv6EchoOptions) {
    this.owns = opts.owns;
    this.hopLimit = opts.hopLimit ?? 64;
  }

  process(ip: Ipv6Repr, icmp: Icmpv6Repr): Icmpv6EchoReply | undefined {
    if (icmp.kind !== 'echoRequest') {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.requests++;
    if (!this.owns(ip.dst) || Ipv6Address.isMulticast(ip.src) || Ipv6Address.isUnspecified(ip.src) || Ipv6Address.isLoopback(ip.src)) {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.replies++;
    const reply: Icmpv6Repr = { kind: 'echoReply', ident: icmp.ident, seqNo: icmp.seqNo, data: icmp.data };
    return {
      ip: {
        src: ip.dst,
        dst: ip.src,
        nextHeader: IpProtocol.Icmpv6,
        payloadLen: 8 + icmp.data.length,
        hopLimit: this.hopLimit,
        trafficClass: ip.trafficClass ?? 0,
      },
      icmp: reply,
    };
  }

  stats(): IcmpEchoStats {
    return { ...this.counters };
  }
}
