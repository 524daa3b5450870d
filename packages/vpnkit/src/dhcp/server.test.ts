import { describe, expect, it } from 'vitest';
import {
  DhcpMessageType,
  DhcpPacket,
  DhcpRepr,
  EthernetAddress,
  Ipv4Address,
} from '../wire/index.js';
import { resolveDhcpConfig } from './config.js';
import { DhcpServer, leaseKey } from './server.js';

const ip = Ipv4Address.parse;
const MAC_A = EthernetAddress.parse('02:50:00:00:00:0a');
const MAC_B = EthernetAddress.parse('02:50:00:00:00:0b');
const GW = ip('192.168.65.1');

function msg(type: number, mac = MAC_A, extra: Partial<DhcpRepr> = {}): DhcpRepr {
  return {
    messageType: type,
    transactionId: 0x1234,
    clientHardwareAddr: mac,
    clientIp: 0,
    yourIp: 0,
    serverIp: 0,
    relayAgentIp: 0,
    ...extra,
  };
}

/** Through the wire and back, as a guest's bytes would arrive. */
function wire(r: DhcpRepr): DhcpRepr {
  const buf = new Uint8Array(DhcpRepr.bufferLen(r));
  DhcpRepr.emit(r, DhcpPacket.unchecked(buf));
  return DhcpRepr.parse(DhcpPacket.checked(buf));
}

function lease(s: DhcpServer, now: number, mac = MAC_A): number {
  const offer = s.process(now, wire(msg(DhcpMessageType.Discover, mac)));
  if (offer === undefined) throw new Error('no offer');
  const ack = s.process(
    now,
    wire(msg(DhcpMessageType.Request, mac, { serverIdentifier: GW, requestedIp: offer.repr.yourIp })),
  );
  expect(ack?.repr.messageType).toBe(DhcpMessageType.Ack);
  return ack?.repr.yourIp ?? 0;
}

describe('DhcpServer config', () => {
  it('defaults to moby/vpnkit: 192.168.65.0/24, gateway .1, first guest .3, MTU 1500', () => {
    const c = resolveDhcpConfig();
    expect(Ipv4Address.format(c.serverIp)).toBe('192.168.65.1');
    expect(Ipv4Address.format(c.rangeStart)).toBe('192.168.65.3');
    expect(Ipv4Address.format(c.rangeEnd)).toBe('192.168.65.254');
    expect(c.prefixLen).toBe(24);
    expect(c.mtu).toBe(1500);
  });

  it('rejects incoherent configuration', () => {
    expect(() => resolveDhcpConfig({ rangeStart: ip('10.0.0.5') })).toThrow(RangeError);
    expect(() => resolveDhcpConfig({ rangeEnd: ip('192.168.65.255') })).toThrow(RangeError);
    expect(() => resolveDhcpConfig({ mtu: 40 })).toThrow(RangeError);
    expect(() => resolveDhcpConfig({ prefixLen: 31 })).toThrow(RangeError);
    expect(() => resolveDhcpConfig({ domainName: '' })).toThrow(RangeError);
  });
});

describe('DISCOVER -> OFFER', () => {
  it('offers the first free address with every configured option', () => {
    const s = new DhcpServer({ domainName: 'vm.test', dnsServers: [GW, ip('192.168.65.7')] });
    const r = s.process(0, wire(msg(DhcpMessageType.Discover)));
    expect(r).toBeDefined();
    const o = wire(r?.repr ?? msg(0));
    expect(o.messageType).toBe(DhcpMessageType.Offer);
    expect(Ipv4Address.format(o.yourIp)).toBe('192.168.65.3');
    expect(o.serverIdentifier).toBe(GW);
    expect(o.subnetMask).toBe(ip('255.255.255.0'));
    expect(o.routers).toEqual([GW]);
    expect(o.dnsServers).toEqual([GW, ip('192.168.65.7')]);
    expect(o.domainName).toBe('vm.test');
    expect(o.interfaceMtu).toBe(1500);
    expect(o.leaseTime).toBe(7200);
    expect(o.renewalTime).toBe(3600);
    expect(o.rebindingTime).toBe(6300);
    expect(o.transactionId).toBe(0x1234);
    // No broadcast bit, no ciaddr: unicast to chaddr / yiaddr (RFC 2131 §4.1).
    expect(r?.dstMac).toEqual(MAC_A);
    expect(r?.dstIp).toBe(o.yourIp);
  });

  it('broadcasts when the client sets the broadcast bit', () => {
    const s = new DhcpServer();
    const r = s.process(0, msg(DhcpMessageType.Discover, MAC_A, { broadcast: true }));
    expect(r?.dstIp).toBe(Ipv4Address.BROADCAST);
    expect(r?.dstMac).toEqual(EthernetAddress.BROADCAST);
  });

  it('honours a valid requested address and skips reserved ones', () => {
    const s = new DhcpServer();
    expect(s.process(0, msg(DhcpMessageType.Discover, MAC_A, { requestedIp: ip('192.168.65.40') }))?.repr.yourIp).toBe(
      ip('192.168.65.40'),
    );
    // The host alias .2 is reserved: never offered even when asked.
    const r = s.process(0, msg(DhcpMessageType.Discover, MAC_B, { requestedIp: ip('192.168.65.2') }));
    expect(r?.repr.yourIp).toBe(ip('192.168.65.3'));
  });

  it('gives different clients different addresses and the same client the same one', () => {
    const s = new DhcpServer();
    const a = lease(s, 0, MAC_A);
    const b = lease(s, 0, MAC_B);
    expect(a).not.toBe(b);
    expect(lease(s, 10, MAC_A)).toBe(a);
  });

  it('keys leases by client identifier when present', () => {
    const s = new DhcpServer();
    const id = Uint8Array.of(1, 2, 3, 4);
    const r1 = s.process(0, msg(DhcpMessageType.Discover, MAC_A, { clientIdentifier: id }));
    expect(leaseKey(msg(1, MAC_A, { clientIdentifier: id }))).toBe('id:01020304');
    // Same client id from another MAC: same record, same address.
    const r2 = s.process(1, msg(DhcpMessageType.Discover, MAC_B, { clientIdentifier: id }));
    expect(r2?.repr.yourIp).toBe(r1?.repr.yourIp);
    expect(r2?.repr.clientIdentifier).toEqual(id);
  });

  it('stays silent when the pool is exhausted, and an offer lapses after its timeout', () => {
    const s = new DhcpServer({ rangeStart: ip('192.168.65.3'), rangeEnd: ip('192.168.65.4'), offerTimeoutMs: 1000 });
    expect(s.process(0, msg(DhcpMessageType.Discover, MAC_A))).toBeDefined();
    expect(s.process(0, msg(DhcpMessageType.Discover, MAC_B))).toBeDefined();
    const c = EthernetAddress.parse('02:50:00:00:00:0c');
    expect(s.process(0, msg(DhcpMessageType.Discover, c))).toBeUndefined();
    expect(s.stats(0).poolExhausted).toBe(1);
    expect(s.pollAt(0)).toBe(1000);
    expect(s.process(1000, msg(DhcpMessageType.Discover, c))?.repr.yourIp).toBe(ip('192.168.65.3'));
  });

  it('drops relayed requests and multicast chaddr', () => {
    const s = new DhcpServer();
    expect(s.process(0, msg(DhcpMessageType.Discover, MAC_A, { relayAgentIp: ip('10.0.0.1') }))).toBeUndefined();
    expect(s.process(0, msg(DhcpMessageType.Discover, EthernetAddress.BROADCAST))).toBeUndefined();
    expect(s.process(0, msg(DhcpMessageType.Offer))).toBeUndefined();
    expect(s.stats(0).ignored).toBe(3);
  });
});

describe('REQUEST -> ACK / NAK', () => {
  it('SELECTING: ACKs the offered address and binds it for the lease time', () => {
    const s = new DhcpServer();
    const a = lease(s, 0);
    expect(s.leaseFor(0, MAC_A)?.ip).toBe(a);
    expect(s.leaseFor(7_200_000, MAC_A)).toBeUndefined();
    expect(s.stats(0)).toMatchObject({ offers: 1, acks: 1, leases: 1 });
  });

  it('SELECTING: NAKs an address that was not offered, broadcast', () => {
    const s = new DhcpServer();
    s.process(0, msg(DhcpMessageType.Discover));
    const r = s.process(0, msg(DhcpMessageType.Request, MAC_A, { serverIdentifier: GW, requestedIp: ip('192.168.65.99') }));
    expect(r?.repr.messageType).toBe(DhcpMessageType.Nak);
    expect(r?.dstIp).toBe(Ipv4Address.BROADCAST);
    expect(r?.repr.message).toBeDefined();
    expect(wire(r?.repr ?? msg(0)).messageType).toBe(DhcpMessageType.Nak);
  });

  it('SELECTING another server: silent, and our offer is withdrawn', () => {
    const s = new DhcpServer();
    const offered = s.process(0, msg(DhcpMessageType.Discover))?.repr.yourIp ?? 0;
    expect(
      s.process(0, msg(DhcpMessageType.Request, MAC_A, { serverIdentifier: ip('192.168.65.200'), requestedIp: offered })),
    ).toBeUndefined();
    expect(s.leases.available(0, 'mac:other', offered)).toBe(true);
  });

  it('INIT-REBOOT: ACKs a free in-pool address, NAKs one on the wrong network or held by another', () => {
    const s = new DhcpServer();
    const b = lease(s, 0, MAC_B);
    const ok = s.process(0, msg(DhcpMessageType.Request, MAC_A, { requestedIp: ip('192.168.65.50') }));
    expect(ok?.repr.messageType).toBe(DhcpMessageType.Ack);
    const wrongNet = s.process(0, msg(DhcpMessageType.Request, MAC_A, { requestedIp: ip('10.0.2.15') }));
    expect(wrongNet?.repr.messageType).toBe(DhcpMessageType.Nak);
    const taken = s.process(0, msg(DhcpMessageType.Request, MAC_A, { requestedIp: b }));
    expect(taken?.repr.messageType).toBe(DhcpMessageType.Nak);
  });

  it('RENEWING: ACKs unicast to ciaddr and extends the lease', () => {
    const s = new DhcpServer();
    const a = lease(s, 0);
    const r = s.process(3_600_000, msg(DhcpMessageType.Request, MAC_A, { clientIp: a }));
    expect(r?.repr.messageType).toBe(DhcpMessageType.Ack);
    expect(r?.repr.clientIp).toBe(a);
    expect(r?.dstIp).toBe(a);
    expect(r?.dstMac).toEqual(MAC_A);
    expect(s.leaseFor(7_200_001, MAC_A)?.ip).toBe(a);
    // Another client renewing someone else's address is refused.
    expect(s.process(0, msg(DhcpMessageType.Request, MAC_B, { clientIp: a }))?.repr.messageType).toBe(DhcpMessageType.Nak);
  });
});

describe('RELEASE, DECLINE, INFORM', () => {
  it('RELEASE frees the address; the client gets it back later', () => {
    const s = new DhcpServer();
    const a = lease(s, 0);
    expect(s.process(1, msg(DhcpMessageType.Release, MAC_A, { clientIp: a, serverIdentifier: GW }))).toBeUndefined();
    expect(s.stats(1)).toMatchObject({ releases: 1, leases: 0 });
    expect(lease(s, 2)).toBe(a); // remembered binding
  });

  it('RELEASE from another client is ignored', () => {
    const s = new DhcpServer();
    const a = lease(s, 0);
    s.process(1, msg(DhcpMessageType.Release, MAC_B, { clientIp: a }));
    expect(s.stats(1).leases).toBe(1);
  });

  it('DECLINE takes the address out of the pool for the hold time', () => {
    const s = new DhcpServer({ declineHoldMs: 1000 });
    const a = lease(s, 0);
    s.process(1, msg(DhcpMessageType.Decline, MAC_A, { requestedIp: a, serverIdentifier: GW }));
    expect(s.stats(1).declines).toBe(1);
    const next = s.process(2, msg(DhcpMessageType.Discover))?.repr.yourIp;
    expect(next).not.toBe(a);
    expect(s.leases.available(1001, 'mac:x', a)).toBe(true);
  });

  it('DECLINE of an address the client does not hold is ignored', () => {
    const s = new DhcpServer();
    const b = lease(s, 0, MAC_B);
    s.process(1, msg(DhcpMessageType.Decline, MAC_A, { requestedIp: b }));
    expect(s.stats(1).declines).toBe(0);
    expect(s.leaseFor(1, MAC_B)?.ip).toBe(b);
  });

  it('INFORM gets an ACK with configuration but no lease, unicast to ciaddr', () => {
    const s = new DhcpServer();
    const ci = ip('192.168.65.77');
    const r = s.process(0, msg(DhcpMessageType.Inform, MAC_A, { clientIp: ci }));
    expect(r?.repr.messageType).toBe(DhcpMessageType.Ack);
    expect(r?.repr.yourIp).toBe(0);
    expect(r?.repr.leaseTime).toBeUndefined();
    expect(r?.repr.routers).toEqual([GW]);
    expect(r?.dstIp).toBe(ci);
    expect(s.process(0, msg(DhcpMessageType.Inform))).toBeUndefined(); // no ciaddr
  });
});

describe('bounds', () => {
  it('a flood of DISCOVERs from random MACs never grows the table past the pool', () => {
    const s = new DhcpServer({ rangeStart: ip('192.168.65.3'), rangeEnd: ip('192.168.65.20'), maxLeases: 10 });
    for (let i = 0; i < 5000; i++) {
      const mac = Uint8Array.of(0x02, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 1);
      s.process(i, msg(DhcpMessageType.Discover, mac));
    }
    expect(s.leases.size).toBeLessThanOrEqual(10);
  });

  it('a hostile 1000-byte client id is truncated in the key', () => {
    const key = leaseKey(msg(1, MAC_A, { clientIdentifier: new Uint8Array(1000).fill(7) }));
    expect(key.length).toBe(3 + 128);
  });
});

describe('reservations', () => {
  it('offers a pinned address to its MAC only, even over a client id', () => {
    const s = new DhcpServer();
    const pinned = ip('192.168.65.3');
    expect(s.reserve(MAC_A, pinned)).toBe(true);
    expect(s.reserve(MAC_B, pinned)).toBe(false); // pinned to A
    expect(s.reserve(MAC_B, ip('192.168.65.1'))).toBe(false); // not a pool address
    // B comes first but never gets .3, even asking for it.
    const b = s.process(0, msg(DhcpMessageType.Discover, MAC_B, { requestedIp: pinned }));
    expect(b?.repr.yourIp).toBe(ip('192.168.65.4'));
    expect(s.process(0, msg(DhcpMessageType.Request, MAC_B, { requestedIp: pinned }))?.repr.messageType).toBe(
      DhcpMessageType.Nak,
    );
    const a = s.process(0, msg(DhcpMessageType.Discover, MAC_A, { clientIdentifier: Uint8Array.of(1, ...MAC_A) }));
    expect(a?.repr.yourIp).toBe(pinned);
  });

  it('refuses to pin an address another MAC holds a live lease on; a pin can be dropped', () => {
    const s = new DhcpServer();
    // B takes .3 with a lease.
    const offer = s.process(0, msg(DhcpMessageType.Discover, MAC_B));
    const got = offer?.repr.yourIp as number;
    expect(s.process(0, msg(DhcpMessageType.Request, MAC_B, { requestedIp: got }))?.repr.messageType).toBe(DhcpMessageType.Ack);
    // Given the time, A cannot pin B's leased address (B's renewals would fail, A would wait for the lease to lapse).
    expect(s.reserve(MAC_A, got, 1000)).toBe(false);
    expect(s.reserve(MAC_A, ip('192.168.65.10'), 1000)).toBe(true);
    // Dropped when A's VIF goes: another MAC may pin it then.
    expect(s.reserve(MAC_B, ip('192.168.65.10'), 1000)).toBe(false);
    expect(s.unreserve(MAC_A)).toBe(true);
    expect(s.unreserve(MAC_A)).toBe(false);
    expect(s.reserve(MAC_B, ip('192.168.65.10'), 1000)).toBe(true);
  });
});
