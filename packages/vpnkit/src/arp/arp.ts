/**
 * The gateway's ARP endpoint (RFC 826, RFC 1122 §2.3.2, RFC 5227 §2.1.1).
 *
 *   "?Is ar$op = ares_op$REQUEST? (NOW look at the opcode!!)
 *      Yes: Swap hardware and protocol fields, putting the local
 *           hardware and protocol addresses in the sender fields.
 *           Set the ar$op field to ares_op$REPLY
 *           Send the packet to the (new) target hardware address on
 *           the same hardware on which the request was received."
 *                                                            (RFC 826)
 *
 *   "'ARP Probe': An ARP Request packet, broadcast on the local link, with
 *    an all-zero 'sender IP address'."  A probe must not create a binding
 *    (its sender owns nothing yet).                    (RFC 5227 §1.1, §2.1.1)
 *
 * A pure state machine: `process(now, arp)` answers requests for the
 * addresses the gateway owns and learns bindings; `resolve(now, ip, packet)`
 * looks up a MAC or parks the packet; `dispatch(now)` yields the requests to
 * broadcast; `pollAt()` says when to call it next.  No clock, no I/O.
 */

import { ArpOperation, EthernetAddress, Ipv4Address, type ArpRepr } from '../wire/index.js';
import { ArpCache, type ArpCacheOptions, type ArpCacheStats } from './cache.js';
import { PendingQueue, type PendingOptions, type PendingStats } from './pending.js';

export interface ArpOptions {
  /** The gateway's MAC: the sender hardware address of every reply. */
  readonly mac: EthernetAddress;
  /** The addresses the gateway answers for (gateway IP, host alias IP, ...). */
  readonly addresses: readonly Ipv4Address[];
  /** Only bindings for senders inside this subnet are learned. */
  readonly subnet: { readonly network: Ipv4Address; readonly prefixLen: number };
  /** The address used as sender of our own requests (default: the first of `addresses`). */
  readonly sourceIp?: Ipv4Address;
  readonly cache?: ArpCacheOptions;
  readonly pending?: PendingOptions;
}

export interface ArpStats {
  received: number;
  requestsAnswered: number;
  requestsIgnored: number;
  repliesReceived: number;
  requestsSent: number;
  /** Packets whose sender claims one of our addresses. */
  conflicts: number;
  /** Packets whose sender MAC is multicast or whose sender IP is outside the subnet. */
  rejected: number;
  cache: ArpCacheStats;
  pending: PendingStats;
}

/** Packets released by a newly learned binding, ready to be framed to `mac`. */
export interface ArpReleased {
  readonly ip: Ipv4Address;
  readonly mac: EthernetAddress;
  readonly packets: Uint8Array[];
}

export class Arp {
  readonly mac: EthernetAddress;
  readonly cache: ArpCache;
  private readonly owned: Set<Ipv4Address>;
  private readonly subnet: { readonly network: Ipv4Address; readonly prefixLen: number };
  private readonly sourceIp: Ipv4Address;
  private readonly pending: PendingQueue;
  private released: ArpReleased[] = [];
  private readonly counters = {
    received: 0,
    requestsAnswered: 0,
    requestsIgnored: 0,
    repliesReceived: 0,
    requestsSent: 0,
    conflicts: 0,
    rejected: 0,
  };

  constructor(opts: ArpOptions) {
    if (opts.mac.length !== 6) throw new RangeError('ARP: mac must be 6 bytes');
    if (opts.addresses.length === 0) throw new RangeError('ARP: at least one owned address is needed');
    this.mac = opts.mac.slice();
    this.owned = new Set(opts.addresses.map((a) => a >>> 0));
    this.subnet = opts.subnet;
    this.sourceIp = (opts.sourceIp ?? opts.addresses[0] ?? 0) >>> 0;
    this.cache = new ArpCache(opts.cache);
    this.pending = new PendingQueue(opts.pending);
  }

  /** True when the gateway answers ARP for `ip`. */
  owns(ip: Ipv4Address): boolean {
    return this.owned.has(ip >>> 0);
  }

  /**
   * Handle one ARP packet from the guest side.  Returns the reply to send
   * (unicast to `reply.targetHardwareAddr`) or undefined.
   */
  process(now: number, arp: ArpRepr): ArpRepr | undefined {
    this.counters.received++;
    const spa = arp.senderProtocolAddr >>> 0;
    const sha = arp.senderHardwareAddr;
    const tpa = arp.targetProtocolAddr >>> 0;
    if (arp.operation === ArpOperation.Reply) this.counters.repliesReceived++;

    if (!EthernetAddress.isUnicast(sha) || EthernetAddress.equals(sha, EthernetAddress.ZERO)) {
      this.counters.rejected++;
      return undefined;
    }
    if (this.owned.has(spa)) {
      // Someone claims the gateway's address: never learn it (that would
      // let a guest hijack the gateway), just count it.
      this.counters.conflicts++;
    } else if (spa !== 0) {
      this.learn(now, spa, sha, tpa);
    }

    if (arp.operation !== ArpOperation.Request) return undefined;
    if (!this.owned.has(tpa)) {
      this.counters.requestsIgnored++;
      return undefined;
    }
    this.counters.requestsAnswered++;
    return {
      operation: ArpOperation.Reply,
      senderHardwareAddr: this.mac,
      senderProtocolAddr: tpa,
      targetHardwareAddr: sha.slice(),
      targetProtocolAddr: spa,
    };
  }

  private learn(now: number, spa: Ipv4Address, sha: EthernetAddress, tpa: Ipv4Address): void {
    if (!Ipv4Address.isUnicast(spa) || !Ipv4Address.inSubnet(spa, this.subnet.network, this.subnet.prefixLen)) {
      this.counters.rejected++;
      return;
    }
    // RFC 826 merge: refresh an existing binding (a gratuitous ARP does
    // that too); create one only when the packet is for us or answers a
    // request of ours, so third-party chatter cannot fill the cache.
    const known = this.cache.has(now, spa);
    if (!known && !this.owned.has(tpa) && !this.pending.isPending(spa)) return;
    this.cache.insert(now, spa, sha);
    const packets = this.pending.release(spa);
    if (packets.length > 0) this.released.push({ ip: spa, mac: sha.slice(), packets });
  }

  /** Learn a binding from another source (e.g. a DHCP ACK the gateway sent). */
  learnFrom(now: number, ip: Ipv4Address, mac: EthernetAddress): void {
    if (this.owned.has(ip >>> 0) || !EthernetAddress.isUnicast(mac)) return;
    this.cache.insert(now, ip, mac);
    const packets = this.pending.release(ip);
    if (packets.length > 0) this.released.push({ ip: ip >>> 0, mac: mac.slice(), packets });
  }

  /**
   * The MAC for `ip`, or undefined after parking `packet` (if given) until
   * the address resolves; `dispatch` then sends the request.
   */
  resolve(now: number, ip: Ipv4Address, packet?: Uint8Array): EthernetAddress | undefined {
    const mac = this.cache.lookup(now, ip);
    if (mac !== undefined) return mac;
    if (packet !== undefined) this.pending.enqueue(now, ip, packet);
    return undefined;
  }

  /** Packets released by bindings learned since the last call. */
  takeReleased(): ArpReleased[] {
    const r = this.released;
    this.released = [];
    return r;
  }

  /** The requests to broadcast now (at most one per address per retry interval). */
  dispatch(now: number): ArpRepr[] {
    this.cache.expire(now);
    const out: ArpRepr[] = [];
    for (const ip of this.pending.due(now)) {
      this.counters.requestsSent++;
      out.push({
        operation: ArpOperation.Request,
        senderHardwareAddr: this.mac,
        senderProtocolAddr: this.sourceIp,
        targetHardwareAddr: EthernetAddress.ZERO,
        targetProtocolAddr: ip,
      });
    }
    return out;
  }

  /** When `dispatch` next has work (a retry or an expiry), or undefined. */
  pollAt(): number | undefined {
    const a = this.pending.pollAt();
    const b = this.cache.pollAt();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  stats(): ArpStats {
    return { ...this.counters, cache: this.cache.stats(), pending: this.pending.stats() };
  }
}
