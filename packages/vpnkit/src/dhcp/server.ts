/**
 * The DHCP server state machine (RFC 2131 §4.3, options from RFC 2132).
 *
 *   DHCPDISCOVER -> DHCPOFFER   "the server chooses a network address for
 *                               the requesting client" (§4.3.1)
 *   DHCPREQUEST  -> DHCPACK / DHCPNAK, by client state (§4.3.2):
 *     SELECTING:   "'server identifier' MUST be set [...] 'requested IP
 *                  address' MUST be filled in, 'ciaddr' MUST be zero"
 *     INIT-REBOOT: "'server identifier' MUST NOT be filled in, 'requested
 *                  IP address' option MUST be filled in [...] 'ciaddr' MUST
 *                  be zero.  The server SHOULD send a DHCPNAK message to
 *                  the client if the 'requested IP address' is incorrect,
 *                  or is on the wrong network."
 *     RENEWING / REBINDING: "'server identifier' MUST NOT be filled in,
 *                  'requested IP address' option MUST NOT be filled in,
 *                  'ciaddr' MUST be filled in with client's IP address."
 *   DHCPDECLINE  -> mark the address unavailable (§4.3.3)
 *   DHCPRELEASE  -> "the server marks the network address as not
 *                  allocated" (§4.3.4)
 *   DHCPINFORM   -> DHCPACK with configuration, no lease, "unicast to the
 *                  address given in the 'ciaddr' field" (§4.3.5)
 *
 * Where the reply goes (§4.1): "If the 'giaddr' field is zero and the
 * 'ciaddr' field is nonzero, then the server unicasts [...] to the address
 * in 'ciaddr'.  If 'giaddr' is zero and 'ciaddr' is zero, and the broadcast
 * bit is set, then the server broadcasts [...] If the broadcast bit is not
 * set and 'giaddr' is zero and 'ciaddr' is zero, then the server unicasts
 * DHCPOFFER and DHCPACK messages to the client's hardware address and
 * 'yiaddr' address.  In all cases, when 'giaddr' is zero, the server
 * broadcasts any DHCPNAK messages to 0xffffffff."  Relayed requests
 * (giaddr set) are dropped: the gateway is on the guest's link.
 *
 * Pure: `process(now, request)` returns the reply and where to send it.
 */

import { DhcpMessageType, EthernetAddress, Ipv4Address, bytesToHex, type DhcpRepr } from '../wire/index.js';
import { resolveDhcpConfig, type DhcpServerConfig, type DhcpServerOptions } from './config.js';
import { LeaseTable, type Lease } from './leases.js';

export interface DhcpReply {
  readonly repr: DhcpRepr;
  /** IP destination: a unicast address or 255.255.255.255. */
  readonly dstIp: Ipv4Address;
  /** Ethernet destination: the client's MAC or broadcast. */
  readonly dstMac: EthernetAddress;
}

export interface DhcpServerStats {
  received: number;
  offers: number;
  acks: number;
  naks: number;
  releases: number;
  declines: number;
  informs: number;
  /** Requests dropped: relayed, another server's, unknown type, pool exhausted. */
  ignored: number;
  poolExhausted: number;
  leases: number;
}

/** Longest client identifier used as a key; longer ones are truncated (they are hostile input). */
const MAX_KEY_BYTES = 64;

export function leaseKey(req: DhcpRepr): string {
  if (req.clientIdentifier !== undefined && req.clientIdentifier.length >= 2) {
    return `id:${bytesToHex(req.clientIdentifier.subarray(0, MAX_KEY_BYTES))}`;
  }
  return `mac:${bytesToHex(req.clientHardwareAddr)}`;
}

export class DhcpServer {
  readonly config: DhcpServerConfig;
  readonly leases: LeaseTable;
  private readonly counters = {
    received: 0,
    offers: 0,
    acks: 0,
    naks: 0,
    releases: 0,
    declines: 0,
    informs: 0,
    ignored: 0,
    poolExhausted: 0,
  };

  constructor(opts: DhcpServerOptions = {}) {
    this.config = resolveDhcpConfig(opts);
    this.leases = new LeaseTable(this.config);
  }

  /** Handle one client message; returns the reply or undefined (silence). */
  process(now: number, req: DhcpRepr): DhcpReply | undefined {
    this.counters.received++;
    if (req.relayAgentIp !== 0 || !EthernetAddress.isUnicast(req.clientHardwareAddr)) {
      this.counters.ignored++;
      return undefined;
    }
    switch (req.messageType) {
      case DhcpMessageType.Discover:
        return this.discover(now, req);
      case DhcpMessageType.Request:
        return this.request(now, req);
      case DhcpMessageType.Decline:
        this.declineMsg(now, req);
        return undefined;
      case DhcpMessageType.Release:
        this.releaseMsg(now, req);
        return undefined;
      case DhcpMessageType.Inform:
        return this.inform(req);
      default:
        this.counters.ignored++;
        return undefined;
    }
  }

  private discover(now: number, req: DhcpRepr): DhcpReply | undefined {
    const key = leaseKey(req);
    const ip = this.leases.choose(now, key, req.requestedIp, req.clientHardwareAddr);
    if (ip === undefined) {
      this.counters.poolExhausted++;
      this.counters.ignored++;
      return undefined;
    }
    const existing = this.leases.get(key);
    // Keep a bound lease bound (a DISCOVER does not shorten it); otherwise hold the offer.
    if (existing === undefined || existing.ip !== ip || existing.state !== 'bound' || existing.expiresAt <= now) {
      this.leases.set(key, ip, req.clientHardwareAddr, 'offered', now + this.config.offerTimeoutMs, now);
    }
    this.counters.offers++;
    return this.reply(req, DhcpMessageType.Offer, ip, true);
  }

  private request(now: number, req: DhcpRepr): DhcpReply | undefined {
    const key = leaseKey(req);
    const sid = req.serverIdentifier;
    if (sid !== undefined) {
      // SELECTING
      if (sid >>> 0 !== this.config.serverIp >>> 0) {
        // The client chose another server: forget our offer.
        const l = this.leases.get(key);
        if (l?.state === 'offered') this.leases.release(key, now);
        this.counters.ignored++;
        return undefined;
      }
      const want = req.requestedIp ?? req.clientIp;
      const l = this.leases.get(key);
      if (want === 0 || l === undefined || l.ip !== want >>> 0 || !this.leases.available(now, key, want, req.clientHardwareAddr)) {
        return this.nak(req, 'requested address was not offered');
      }
      return this.ack(now, key, req, want);
    }
    if (req.clientIp === 0) {
      // INIT-REBOOT
      const want = req.requestedIp;
      if (want === undefined) {
        this.counters.ignored++;
        return undefined;
      }
      if (!this.leases.available(now, key, want, req.clientHardwareAddr)) return this.nak(req, 'requested address is not available');
      return this.ack(now, key, req, want);
    }
    // RENEWING / REBINDING
    if (!this.leases.available(now, key, req.clientIp, req.clientHardwareAddr)) return this.nak(req, 'address is not available');
    return this.ack(now, key, req, req.clientIp);
  }

  private ack(now: number, key: string, req: DhcpRepr, ip: Ipv4Address): DhcpReply {
    this.leases.set(key, ip, req.clientHardwareAddr, 'bound', now + this.config.leaseTimeS * 1000, now);
    this.counters.acks++;
    return this.reply(req, DhcpMessageType.Ack, ip, true);
  }

  private nak(req: DhcpRepr, message: string): DhcpReply {
    this.counters.naks++;
    return {
      repr: {
        messageType: DhcpMessageType.Nak,
        transactionId: req.transactionId,
        clientHardwareAddr: req.clientHardwareAddr,
        clientIp: 0,
        yourIp: 0,
        serverIp: 0,
        relayAgentIp: 0,
        broadcast: req.broadcast ?? false,
        serverIdentifier: this.config.serverIp,
        message,
        ...(req.clientIdentifier !== undefined ? { clientIdentifier: req.clientIdentifier } : {}),
      },
      dstIp: Ipv4Address.BROADCAST,
      dstMac: EthernetAddress.BROADCAST,
    };
  }

  private declineMsg(now: number, req: DhcpRepr): void {
    if (req.serverIdentifier !== undefined && req.serverIdentifier >>> 0 !== this.config.serverIp >>> 0) {
      this.counters.ignored++;
      return;
    }
    const ip = req.requestedIp;
    const l = ip === undefined ? undefined : this.leases.byAddress(ip);
    // Only the client holding the address may decline it: otherwise any
    // guest could drain the pool.
    if (ip === undefined || l === undefined || l.key !== leaseKey(req)) {
      this.counters.ignored++;
      return;
    }
    this.leases.decline(ip, now + this.config.declineHoldMs);
    this.counters.declines++;
  }

  private releaseMsg(now: number, req: DhcpRepr): void {
    const l = this.leases.byAddress(req.clientIp);
    if (l === undefined || l.key !== leaseKey(req)) {
      this.counters.ignored++;
      return;
    }
    this.leases.release(l.key, now);
    this.counters.releases++;
  }

  private inform(req: DhcpRepr): DhcpReply | undefined {
    if (req.clientIp === 0) {
      this.counters.ignored++;
      return undefined;
    }
    this.counters.informs++;
    return this.reply(req, DhcpMessageType.Ack, 0, false);
  }

  private reply(req: DhcpRepr, type: number, yourIp: Ipv4Address, withLease: boolean): DhcpReply {
    const c = this.config;
    const repr: DhcpRepr = {
      messageType: type,
      transactionId: req.transactionId,
      clientHardwareAddr: req.clientHardwareAddr,
      clientIp: type === DhcpMessageType.Offer ? 0 : req.clientIp,
      yourIp,
      serverIp: 0,
      relayAgentIp: 0,
      broadcast: req.broadcast ?? false,
      serverIdentifier: c.serverIp,
      subnetMask: Ipv4Address.netmask(c.prefixLen),
      routers: [...c.routers],
    };
    if (withLease) {
      repr.leaseTime = c.leaseTimeS;
      repr.renewalTime = Math.floor(c.leaseTimeS / 2); // T1: 0.5 * lease (§4.4.5)
      repr.rebindingTime = Math.floor((c.leaseTimeS * 7) / 8); // T2: 0.875 * lease
    }
    if (c.dnsServers.length > 0) repr.dnsServers = [...c.dnsServers];
    if (c.domainName !== undefined) repr.domainName = c.domainName;
    if (c.mtu !== undefined) repr.interfaceMtu = c.mtu;
    if (req.clientIdentifier !== undefined) repr.clientIdentifier = req.clientIdentifier;

    let dstIp: Ipv4Address;
    let dstMac: EthernetAddress;
    if (req.clientIp !== 0) {
      dstIp = req.clientIp;
      dstMac = req.clientHardwareAddr;
    } else if (req.broadcast) {
      dstIp = Ipv4Address.BROADCAST;
      dstMac = EthernetAddress.BROADCAST;
    } else {
      dstIp = yourIp;
      dstMac = req.clientHardwareAddr;
    }
    return { repr, dstIp, dstMac };
  }

  /**
   * Pin `ip` to `mac` (a static reservation, e.g. hyperkit's preferred IPv4
   * for a VIF).  False when `ip` is not a pool address or is pinned to
   * another MAC, or (given `now`) another MAC holds a live lease on it.
   */
  reserve(mac: EthernetAddress, ip: Ipv4Address, now?: number): boolean {
    return this.leases.reserve(mac, ip, now);
  }

  /** Drops `mac`'s reservation (e.g. its VIF disconnected); true if it had one. */
  unreserve(mac: EthernetAddress): boolean {
    return this.leases.unreserve(mac);
  }

  /** When the next lease or offer lapses (for housekeeping), or undefined. */
  pollAt(now: number): number | undefined {
    return this.leases.pollAt(now);
  }

  /** The bound lease for a MAC, if any (e.g. for logs and tests). */
  leaseFor(now: number, mac: EthernetAddress): Lease | undefined {
    for (const l of this.leases.list()) {
      if (l.state === 'bound' && l.expiresAt > now && EthernetAddress.equals(l.mac, mac)) return l;
    }
    return undefined;
  }

  stats(now: number): DhcpServerStats {
    return { ...this.counters, leases: this.leases.liveCount(now) };
  }
}
