/**
 * The gateway's IPv6 Neighbor Discovery (RFC 4861) as a router, with the
 * prefix for SLAAC (RFC 4862) and DNS servers (RFC 8106) in its Router
 * Advertisements.
 *
 *   "A node MUST silently discard any received Neighbor Solicitation
 *    messages that do not satisfy all of the following validity checks:
 *     - The IP Hop Limit field has a value of 255, i.e., the packet could
 *       not possibly have been forwarded by a router. [...]
 *     - ICMP Code is 0.
 *     - ICMP length (derived from the IP length) is 24 or more octets.
 *     - Target Address is not a multicast address.
 *     - All included options have a length that is greater than zero.
 *     - If the IP source address is the unspecified address, the IP
 *       destination address is a solicited-node multicast address.
 *     - If the IP source address is the unspecified address, there is no
 *       source link-layer address option in the message."  (§7.1.1)
 *
 *   "If the source of the solicitation is the unspecified address, the node
 *    MUST set the Solicited flag to zero and multicast the advertisement to
 *    the all-nodes address.  Otherwise, the node MUST set the Solicited flag
 *    to one and unicast the advertisement to the source"     (§7.2.4)
 *
 *   "A router MAY choose to unicast the response directly to the soliciting
 *    host's address (if the solicitation's source address is not the
 *    unspecified address)"                                   (§6.2.6)
 *
 *   "Source Address MUST be the link-local address assigned to the
 *    interface from which this message is sent."    (§4.2, Router Advert)
 *
 * The code, length and option checks are the wire layer's (`Icmpv6Packet`,
 * `ndiscOptions`); the Hop Limit, target and source checks are here.
 * Pure: `process(now, ...)` returns the reply, `dispatch(now)` the
 * solicitations and unsolicited advertisements due, `pollAt()` when next.
 * Every table is bounded (neighbour cache, pending packets); solicited RAs
 * are rate-limited by a token bucket.
 */

import { EthernetAddress, Icmpv6Repr, IpProtocol, Ipv6Address, type Ipv6Repr } from '../wire/index.js';
import {
  NeighborCache,
  NeighborPending,
  type NeighborCacheOptions,
  type NeighborCacheStats,
  type NeighborPendingOptions,
  type NeighborPendingStats,
} from './neighbors.js';

export interface RouterAdvertOptions {
  /** MaxRtrAdvInterval, ms (RFC 4861 §6.2.1 default 600 s). */
  readonly maxIntervalMs?: number;
  /** MinRtrAdvInterval, ms (default a third of the maximum). */
  readonly minIntervalMs?: number;
  /** Router Lifetime, s (default 3 * MaxRtrAdvInterval, RFC 4861 §6.2.1). */
  readonly routerLifetimeS?: number;
  /** Prefix valid / preferred lifetimes, s (defaults 86400 / 14400). */
  readonly validLifetimeS?: number;
  readonly preferredLifetimeS?: number;
  /** Solicited RAs: a bucket of `burst` tokens refilled one per `refillMs` (defaults 8, 500 ms). */
  readonly burst?: number;
  readonly refillMs?: number;
}

export interface NdpOptions {
  readonly mac: EthernetAddress;
  /** The /64 advertised for SLAAC. */
  readonly prefix: Ipv6Address;
  readonly prefixLen: number;
  /** Unicast addresses the gateway answers for, besides its link-local (gateway, host alias). */
  readonly addresses: readonly Ipv6Address[];
  /** Advertised in the MTU option. */
  readonly mtu: number;
  /** RDNSS (RFC 8106); none when empty. */
  readonly dnsServers: readonly Ipv6Address[];
  readonly cache?: NeighborCacheOptions;
  readonly pending?: NeighborPendingOptions;
  readonly ra?: RouterAdvertOptions;
  /** Uniform [0, 1) for the RA interval jitter (default Math.random). */
  readonly random?: () => number;
}

/** An ICMPv6 message to send: the IPv6 header's fields, the message, the Ethernet destination. */
export interface NdpOutput {
  readonly dstMac: EthernetAddress;
  readonly ip: Ipv6Repr;
  readonly icmp: Icmpv6Repr;
}

export interface NdpReleased {
  readonly mac: EthernetAddress;
  readonly packets: Uint8Array[];
}

export interface NdpStats {
  received: number;
  solicitationsAnswered: number;
  routerSolicitations: number;
  advertisementsSent: number;
  /** Solicited RAs not sent because the bucket was empty (the next periodic one covers them). */
  rateLimited: number;
  solicitationsSent: number;
  /** ND messages dropped by the validity checks (hop limit, target, source). */
  invalid: number;
  /** ND messages whose sender claims one of the gateway's addresses. */
  conflicts: number;
  /** Other ICMPv6 types seen (MLD reports, RAs from guests, ...). */
  ignored: number;
  cache: NeighborCacheStats;
  pending: NeighborPendingStats;
}

const ND_HOP_LIMIT = 255;
/** MAX_INITIAL_RTR_ADVERTISEMENTS, MAX_INITIAL_RTR_ADVERT_INTERVAL (RFC 4861 §10). */
const INITIAL_ADVERTS = 3;
const INITIAL_INTERVAL_MS = 16_000;

function eq16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** ff02::1:ffXX:XXXX for one of `addrs`? */
function isSolicitedNodeOf(dst: Ipv6Address, addrs: readonly Ipv6Address[]): boolean {
  const sn = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
  for (let i = 0; i < 13; i++) if (dst[i] !== sn[i]) return false;
  return addrs.some((a) => a[13] === dst[13] && a[14] === dst[14] && a[15] === dst[15]);
}

export class Ndp {
  readonly mac: EthernetAddress;
  /** fe80::/64 with the modified EUI-64 of the gateway's MAC. */
  readonly linkLocal: Ipv6Address;
  readonly cache: NeighborCache;
  private readonly pending: NeighborPending;
  /** Link-local first, then the configured addresses. */
  private readonly owned: readonly Ipv6Address[];
  private readonly prefix: Ipv6Address;
  private readonly prefixLen: number;
  private readonly mtu: number;
  private readonly dns: readonly Ipv6Address[];
  private readonly random: () => number;
  private readonly ra: Required<RouterAdvertOptions>;
  private released: NdpReleased[] = [];
  /** When the next unsolicited RA is due (undefined until IPv6 traffic is seen). */
  private nextAdvertAt: number | undefined;
  private initialLeft = INITIAL_ADVERTS;
  private tokens: number;
  private tokensAt = 0;
  private readonly counters = {
    received: 0,
    solicitationsAnswered: 0,
    routerSolicitations: 0,
    advertisementsSent: 0,
    rateLimited: 0,
    solicitationsSent: 0,
    invalid: 0,
    conflicts: 0,
    ignored: 0,
  };

  constructor(opts: NdpOptions) {
    if (opts.mac.length !== 6) throw new RangeError('NDP: mac must be 6 bytes');
    if (opts.prefix.length !== 16 || opts.prefixLen !== 64) throw new RangeError('NDP: the prefix must be a /64');
    this.mac = opts.mac.slice();
    this.linkLocal = Ipv6Address.linkLocalFromMac(this.mac);
    this.owned = [this.linkLocal, ...opts.addresses.map((a) => a.slice())];
    this.prefix = opts.prefix.slice();
    this.prefixLen = opts.prefixLen;
    this.mtu = opts.mtu;
    this.dns = opts.dnsServers.map((a) => a.slice());
    this.random = opts.random ?? Math.random;
    const maxIntervalMs = Math.max(4000, opts.ra?.maxIntervalMs ?? 600_000);
    this.ra = {
      maxIntervalMs,
      minIntervalMs: Math.min(maxIntervalMs * 0.75, Math.max(3000, opts.ra?.minIntervalMs ?? maxIntervalMs / 3)),
      routerLifetimeS: Math.min(9000, opts.ra?.routerLifetimeS ?? Math.ceil((3 * maxIntervalMs) / 1000)),
      validLifetimeS: opts.ra?.validLifetimeS ?? 86_400,
      preferredLifetimeS: opts.ra?.preferredLifetimeS ?? 14_400,
      burst: Math.max(1, opts.ra?.burst ?? 8),
      refillMs: Math.max(1, opts.ra?.refillMs ?? 500),
    };
    this.tokens = this.ra.burst;
    this.cache = new NeighborCache(opts.cache);
    this.pending = new NeighborPending(opts.pending);
  }

  /** True when `addr` is one of the gateway's unicast addresses. */
  owns(addr: Ipv6Address): boolean {
    for (const a of this.owned) if (eq16(a, addr)) return true;
    return false;
  }

  /** True for multicast groups the gateway listens to: all-nodes, all-routers, its solicited-node groups. */
  listensTo(dst: Ipv6Address): boolean {
    if (dst[0] !== 0xff) return false;
    return (
      eq16(dst, Ipv6Address.LINK_LOCAL_ALL_NODES) || eq16(dst, Ipv6Address.LINK_LOCAL_ALL_ROUTERS) || isSolicitedNodeOf(dst, this.owned)
    );
  }

  /** On the link: link-local or inside the advertised prefix (and unicast). */
  onLink(addr: Ipv6Address): boolean {
    if (addr[0] === 0xff) return false;
    if (Ipv6Address.isLinkLocal(addr)) return true;
    for (let i = 0; i < 8; i++) if (addr[i] !== this.prefix[i]) return false;
    return true;
  }

  /** Addresses whose bindings may be learned: on-link unicast, not ours, not unspecified. */
  private learnable(addr: Ipv6Address): boolean {
    return this.onLink(addr) && !Ipv6Address.isUnspecified(addr) && !this.owns(addr);
  }

  /** Start advertising (the first IPv6 frame from a guest says someone is listening). */
  activate(now: number): void {
    if (this.nextAdvertAt === undefined) this.nextAdvertAt = now;
  }

  /**
   * Traffic from a guest: refresh its binding if the MAC matches, or create
   * one for an address nobody has claimed yet.  A different MAC never
   * overrides a binding here (only ND messages do).
   */
  observe(now: number, src: Ipv6Address, mac: EthernetAddress): void {
    if (this.cache.confirm(now, src, mac)) return;
    if (!EthernetAddress.isUnicast(mac) || !this.learnable(src) || this.cache.has(now, src)) return;
    this.learn(now, src, mac);
  }

  private learn(now: number, addr: Ipv6Address, mac: EthernetAddress): void {
    this.cache.insert(now, addr, mac);
    const packets = this.pending.release(addr);
    if (packets.length > 0) this.released.push({ mac: mac.slice(), packets });
  }

  /**
   * Handle an ICMPv6 message from a guest (`srcMac`: the Ethernet source).
   * Returns the reply for neighbour and router solicitations; learns from
   * solicitations and advertisements.  ND messages failing §6.1/§7.1 are
   * dropped and counted.
   */
  process(now: number, ip: Ipv6Repr, icmp: Icmpv6Repr, srcMac: EthernetAddress): NdpOutput | undefined {
    this.counters.received++;
    switch (icmp.kind) {
      case 'neighborSolicit':
        return this.solicitation(now, ip, icmp, srcMac);
      case 'neighborAdvert':
        this.advertisement(now, ip, icmp, srcMac);
        return undefined;
      case 'routerSolicit':
        return this.routerSolicitation(now, ip, icmp, srcMac);
      default:
        this.counters.ignored++;
        return undefined;
    }
  }

  private solicitation(
    now: number,
    ip: Ipv6Repr,
    ns: Extract<Icmpv6Repr, { kind: 'neighborSolicit' }>,
    srcMac: EthernetAddress,
  ): NdpOutput | undefined {
    const dad = Ipv6Address.isUnspecified(ip.src);
    if (
      ip.hopLimit !== ND_HOP_LIMIT ||
      Ipv6Address.isMulticast(ns.target) ||
      Ipv6Address.isMulticast(ip.src) ||
      (dad && (!isSolicitedNodeOf(ip.dst, [ns.target]) || ns.sourceLinkAddr !== undefined))
    ) {
      this.counters.invalid++;
      return undefined;
    }
    if (!this.owns(ns.target)) {
      this.counters.ignored++;
      return undefined;
    }
    if (!dad && this.owns(ip.src)) {
      this.counters.conflicts++;
      return undefined;
    }
    // §7.2.3: the source link-layer option creates or updates the sender's entry.
    if (!dad && ns.sourceLinkAddr !== undefined && EthernetAddress.isUnicast(ns.sourceLinkAddr) && this.learnable(ip.src)) {
      this.learn(now, ip.src, ns.sourceLinkAddr);
    }
    this.counters.solicitationsAnswered++;
    const na: Icmpv6Repr = {
      kind: 'neighborAdvert',
      router: true,
      solicited: !dad,
      override: true,
      target: ns.target,
      targetLinkAddr: this.mac,
    };
    // A unicast reply without a source link-layer option goes back to the frame's sender.
    const dstMac = dad ? Ipv6Address.multicastMac(Ipv6Address.LINK_LOCAL_ALL_NODES) : (ns.sourceLinkAddr ?? srcMac);
    const dst = dad ? Ipv6Address.LINK_LOCAL_ALL_NODES : ip.src;
    return { dstMac, ip: this.header(ns.target, dst, na), icmp: na };
  }

  private advertisement(now: number, ip: Ipv6Repr, na: Extract<Icmpv6Repr, { kind: 'neighborAdvert' }>, srcMac: EthernetAddress): void {
    // §7.1.2: hop limit 255, target not multicast, a multicast destination only unsolicited.
    if (ip.hopLimit !== ND_HOP_LIMIT || Ipv6Address.isMulticast(na.target) || (Ipv6Address.isMulticast(ip.dst) && na.solicited)) {
      this.counters.invalid++;
      return;
    }
    if (this.owns(na.target)) {
      this.counters.conflicts++;
      return;
    }
    const mac = na.targetLinkAddr ?? srcMac;
    if (!EthernetAddress.isUnicast(mac) || !this.learnable(na.target)) {
      this.counters.ignored++;
      return;
    }
    // §7.2.5: learn what we asked for (or already hold), not unsolicited chatter about others.
    if (this.cache.has(now, na.target) || this.pending.isPending(na.target)) this.learn(now, na.target, mac);
    else if (EthernetAddress.equals(mac, srcMac)) this.learn(now, na.target, mac);
    else this.counters.ignored++;
  }

  private routerSolicitation(
    now: number,
    ip: Ipv6Repr,
    rs: Extract<Icmpv6Repr, { kind: 'routerSolicit' }>,
    srcMac: EthernetAddress,
  ): NdpOutput | undefined {
    const unspecified = Ipv6Address.isUnspecified(ip.src);
    // §6.1.1: hop limit 255; no source link-layer option from the unspecified address.
    if (ip.hopLimit !== ND_HOP_LIMIT || Ipv6Address.isMulticast(ip.src) || (unspecified && rs.sourceLinkAddr !== undefined)) {
      this.counters.invalid++;
      return undefined;
    }
    this.counters.routerSolicitations++;
    this.activate(now);
    if (!unspecified && rs.sourceLinkAddr !== undefined && EthernetAddress.isUnicast(rs.sourceLinkAddr) && this.learnable(ip.src)) {
      this.learn(now, ip.src, rs.sourceLinkAddr);
    }
    if (!this.takeToken(now)) {
      this.counters.rateLimited++;
      return undefined;
    }
    if (unspecified) return this.advert(Ipv6Address.LINK_LOCAL_ALL_NODES, Ipv6Address.multicastMac(Ipv6Address.LINK_LOCAL_ALL_NODES));
    return this.advert(ip.src, rs.sourceLinkAddr ?? srcMac);
  }

  private takeToken(now: number): boolean {
    const refill = Math.floor((now - this.tokensAt) / this.ra.refillMs);
    if (refill > 0) {
      this.tokens = Math.min(this.ra.burst, this.tokens + refill);
      this.tokensAt += refill * this.ra.refillMs;
    }
    if (this.tokens === this.ra.burst) this.tokensAt = now;
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }

  /** The Router Advertisement: default router, prefix for SLAAC, MTU, RDNSS. */
  routerAdvert(): Extract<Icmpv6Repr, { kind: 'routerAdvert' }> {
    const r: Extract<Icmpv6Repr, { kind: 'routerAdvert' }> = {
      kind: 'routerAdvert',
      hopLimit: 64,
      managed: false,
      other: false,
      routerLifetime: this.ra.routerLifetimeS,
      reachableTime: 0,
      retransTime: 0,
      sourceLinkAddr: this.mac,
      mtu: this.mtu,
      prefixes: [
        {
          prefixLen: this.prefixLen,
          onLink: true,
          autonomous: true,
          validLifetime: this.ra.validLifetimeS,
          preferredLifetime: Math.min(this.ra.preferredLifetimeS, this.ra.validLifetimeS),
          prefix: this.prefix,
        },
      ],
    };
    // RFC 8106 §5.1: MaxRtrAdvInterval <= Lifetime <= 2*MaxRtrAdvInterval.
    if (this.dns.length > 0) r.rdnss = { lifetime: Math.ceil((2 * this.ra.maxIntervalMs) / 1000), servers: [...this.dns] };
    return r;
  }

  private advert(dst: Ipv6Address, dstMac: EthernetAddress): NdpOutput {
    this.counters.advertisementsSent++;
    const icmp = this.routerAdvert();
    return { dstMac, ip: this.header(this.linkLocal, dst, icmp), icmp };
  }

  private header(src: Ipv6Address, dst: Ipv6Address, icmp: Icmpv6Repr): Ipv6Repr {
    return { src, dst, nextHeader: IpProtocol.Icmpv6, payloadLen: Icmpv6Repr.bufferLen(icmp), hopLimit: ND_HOP_LIMIT };
  }

  /**
   * The MAC for on-link `dst`, or undefined after parking `packet` (if
   * given) until a Neighbor Advertisement resolves it.
   */
  resolve(now: number, dst: Ipv6Address, packet?: Uint8Array): EthernetAddress | undefined {
    const mac = this.cache.lookup(now, dst);
    if (mac !== undefined) return mac;
    if (packet !== undefined && this.onLink(dst) && !this.owns(dst)) this.pending.enqueue(now, dst, packet);
    return undefined;
  }

  /** Packets released by bindings learned since the last call. */
  takeReleased(): NdpReleased[] {
    const r = this.released;
    this.released = [];
    return r;
  }

  /** Neighbor Solicitations (for parked packets) and unsolicited RAs due now. */
  dispatch(now: number): NdpOutput[] {
    this.cache.expire(now);
    const out: NdpOutput[] = [];
    for (const target of this.pending.due(now)) {
      this.counters.solicitationsSent++;
      const ns: Icmpv6Repr = { kind: 'neighborSolicit', target, sourceLinkAddr: this.mac };
      // From the address of the same scope as the target (RFC 6724 rule 2).
      const src = Ipv6Address.isLinkLocal(target) ? this.linkLocal : (this.owned[1] ?? this.linkLocal);
      const group = Ipv6Address.solicitedNode(target);
      out.push({ dstMac: Ipv6Address.multicastMac(group), ip: this.header(src, group, ns), icmp: ns });
    }
    if (this.nextAdvertAt !== undefined && this.nextAdvertAt <= now) {
      out.push(this.advert(Ipv6Address.LINK_LOCAL_ALL_NODES, Ipv6Address.multicastMac(Ipv6Address.LINK_LOCAL_ALL_NODES)));
      // §6.2.4: the first few at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart, then uniformly in [Min, Max].
      let gap = this.ra.minIntervalMs + this.random() * (this.ra.maxIntervalMs - this.ra.minIntervalMs);
      if (this.initialLeft > 0) {
        this.initialLeft--;
        gap = Math.min(gap, INITIAL_INTERVAL_MS);
      }
      this.nextAdvertAt = now + gap;
    }
    return out;
  }

  pollAt(): number | undefined {
    let t = this.nextAdvertAt;
    for (const x of [this.pending.pollAt(), this.cache.pollAt()]) if (x !== undefined && (t === undefined || x < t)) t = x;
    return t;
  }

  stats(): NdpStats {
    return { ...this.counters, cache: this.cache.stats(), pending: this.pending.stats() };
  }
}
