import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from './address.js';
import { hexToBytes } from './bytes.js';
import { DhcpMessageType, DhcpPacket, DhcpRepr } from './dhcp.js';
import { describeFrame } from './describe.js';
import { WireError } from './error.js';
import { EtherType, EthernetFrame, EthernetRepr } from './ethernet.js';
import { INTERNAL_ERROR_PREFIX, parseFrame, type FrameRepr } from './frame.js';
import { Icmpv6Packet, Icmpv6Repr } from './icmpv6.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4.js';
import { Ipv6Packet, Ipv6Repr } from './ipv6.js';
import { TcpFlags } from './tcp.js';
import { UdpPacket, UdpRepr } from './udp.js';

// Whole frames captured with scapy (Ethernet + IP + transport).
const FRAMES = {
  arpRequest: hexToBytes(
    'ff ff ff ff ff ff 02 50 00 00 00 02 08 06', // broadcast <- 02:50:00:00:00:02, ARP
    '00 01 08 00 06 04 00 01 02 50 00 00 00 02 c0 a8 41 02 00 00 00 00 00 00 c0 a8 41 01',
  ),
  tcpSyn: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
    '45 00 00 3c 1c 46 40 00 40 06 1b 22 c0 a8 41 02 c0 a8 41 01', // IPv4, TCP, 60 bytes
    '9c 40 00 50 01 02 03 04 00 00 00 00 a0 02 fa f0 43 9d 00 00', // 40000 -> 80 SYN
    '02 04 05 b4 04 02 08 0a a1 b2 c3 d4 00 00 00 00 01 03 03 07', // mss, sackOK, TS, nop, wscale
  ),
  udp6: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 86 dd',
    '60 00 00 00 00 0e 11 40', // IPv6, payload 14, UDP, hop limit 64
    'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02',
    'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01',
    '82 35 00 35 00 0e 34 1f 6b 69 74 62 6f 78', // 33333 -> 53 "kitbox"
  ),
  icmpEcho: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
    '45 00 00 24 00 01 00 00 40 01 77 84 c0 a8 41 02 c0 a8 41 01',
    '08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68',
  ),
  neighborSolicit: hexToBytes(
    '33 33 ff 00 00 01 02 50 00 00 00 02 86 dd',
    '60 00 00 00 00 20 3a ff',
    'fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 02',
    'ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 01',
    '87 00 7b a7 00 00 00 00 fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 01 01 01 02 50 00 00 00 02',
  ),
  vlanUdp: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 81 00 60 0a 08 00', // 802.1Q VID 10 PCP 3
    '45 00 00 1c 00 05 00 00 40 11 77 78 c0 a8 41 02 c0 a8 41 01',
    '00 01 00 02 00 08 fc 86', // 1 -> 2, empty
  ),
  icmpPortUnreach: hexToBytes(
    '02 50 00 00 00 02 02 50 00 00 00 01 08 00',
    '45 00 00 3e 00 02 00 00 40 01 77 69 c0 a8 41 01 c0 a8 41 02',
    '03 03 00 71 00 00 00 00',
    '45 00 00 22 42 42 00 00 40 11 35 35 c0 a8 41 02 c0 a8 41 01 82 35 00 35 00 0e 2a cf 6b 69 74 62 6f 78',
  ),
  ipv4Fragment: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
    '45 00 00 24 10 e1 20 00 40 11 46 94 c0 a8 41 02 c0 a8 41 01', // ident 4321, MF, offset 0
    '00 01 00 02 00 18 00 00 79 79 79 79 79 79 79 79', // first fragment: a UDP header + data
  ),
  ipv6WithExtensions: hexToBytes(
    '02 50 00 00 00 01 02 50 00 00 00 02 86 dd',
    '60 00 00 00 00 18 00 40', // payload 24, next header 0 (Hop-by-Hop)
    'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02',
    'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01',
    '3c 00 01 04 00 00 00 00', // Hop-by-Hop -> Destination Options, PadN
    '11 00 01 04 00 00 00 00', // Destination Options -> UDP, PadN
    '82 35 00 35 00 08 83 6f', // UDP 33333 -> 53, no payload
  ),
};

/** Build Ethernet + IPv4 + UDP + DHCP, exercising nested emit into one buffer. */
function dhcpFrame(): Uint8Array {
  const dhcp: DhcpRepr = {
    messageType: DhcpMessageType.Discover,
    transactionId: 0x1234,
    clientHardwareAddr: hexToBytes('02 50 00 00 00 02'),
    clientIp: 0,
    yourIp: 0,
    serverIp: 0,
    relayAgentIp: 0,
    hostname: 'vm',
    parameterRequestList: Uint8Array.of(1, 3, 6),
  };
  const dhcpLen = DhcpRepr.bufferLen(dhcp);
  const udpLen = 8 + dhcpLen;
  const ip: Ipv4Repr = { src: 0, dst: 0xffffffff, protocol: IpProtocol.Udp, payloadLen: udpLen, ttl: 64 };
  const eth: EthernetRepr = { src: hexToBytes('02 50 00 00 00 02'), dst: hexToBytes('ff ff ff ff ff ff'), etherType: EtherType.Ipv4 };
  const buf = new Uint8Array(14 + Ipv4Repr.bufferLen(ip));
  const frame = EthernetRepr.emit(eth, EthernetFrame.unchecked(buf));
  const packet = Ipv4Repr.emit(ip, Ipv4Packet.unchecked(frame.payload));
  const udpBuf = packet.payload;
  DhcpRepr.emit(dhcp, DhcpPacket.unchecked(udpBuf.subarray(8)));
  UdpRepr.emit({ srcPort: 68, dstPort: 67, payload: udpBuf.subarray(8) }, UdpPacket.unchecked(udpBuf), ip.src, ip.dst);
  return buf;
}

/** Build Ethernet + IPv6 + Router Advertisement. */
function raFrame(): Uint8Array {
  const src = Ipv6Address.parse('fe80::1');
  const dst = Ipv6Address.LINK_LOCAL_ALL_NODES;
  const ra: Icmpv6Repr = {
    kind: 'routerAdvert',
    hopLimit: 64,
    managed: false,
    other: true,
    routerLifetime: 1800,
    reachableTime: 0,
    retransTime: 0,
    sourceLinkAddr: hexToBytes('02 50 00 00 00 01'),
    mtu: 1500,
    prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 100, preferredLifetime: 50, prefix: Ipv6Address.parse('fd00::') }],
    rdnss: { lifetime: 60, servers: [Ipv6Address.parse('fd00::1'), Ipv6Address.parse('fd00::53')] },
  };
  const ip: Ipv6Repr = { src, dst, nextHeader: IpProtocol.Icmpv6, payloadLen: Icmpv6Repr.bufferLen(ra), hopLimit: 255 };
  const buf = new Uint8Array(14 + Ipv6Repr.bufferLen(ip));
  const frame = EthernetRepr.emit(
    { src: hexToBytes('02 50 00 00 00 01'), dst: Ipv6Address.multicastMac(dst), etherType: EtherType.Ipv6 },
    EthernetFrame.unchecked(buf),
  );
  const packet = Ipv6Repr.emit(ip, Ipv6Packet.unchecked(frame.payload));
  Icmpv6Repr.emit(ra, Icmpv6Packet.unchecked(packet.payload), src, dst);
  return buf;
}

describe('parseFrame', () => {
  it('parses a TCP SYN through every layer', () => {
    const f = parseFrame(FRAMES.tcpSyn);
    expect(f.network.kind).toBe('ipv4');
    if (f.network.kind !== 'ipv4' || f.network.transport.kind !== 'tcp') throw new Error('shape');
    expect(Ipv4Address.format(f.network.ip.src)).toBe('192.168.65.2');
    expect(f.network.transport.tcp).toMatchObject({ srcPort: 40000, dstPort: 80, flags: TcpFlags.Syn, maxSegSize: 1460 });
  });

  it('parses every golden frame', () => {
    const kinds = (f: FrameRepr): string =>
      f.network.kind === 'ipv4' || f.network.kind === 'ipv6' ? `${f.network.kind}/${f.network.transport.kind}` : f.network.kind;
    expect(kinds(parseFrame(FRAMES.arpRequest))).toBe('arp');
    expect(kinds(parseFrame(FRAMES.udp6))).toBe('ipv6/udp');
    expect(kinds(parseFrame(FRAMES.icmpEcho))).toBe('ipv4/icmpv4');
    expect(kinds(parseFrame(FRAMES.neighborSolicit))).toBe('ipv6/icmpv6');
    expect(kinds(parseFrame(FRAMES.vlanUdp))).toBe('ipv4/udp');
    expect(kinds(parseFrame(FRAMES.icmpPortUnreach))).toBe('ipv4/icmpv4');
    expect(kinds(parseFrame(FRAMES.ipv4Fragment))).toBe('ipv4/fragment');
    expect(kinds(parseFrame(FRAMES.ipv6WithExtensions))).toBe('ipv6/udp');
    expect(kinds(parseFrame(dhcpFrame()))).toBe('ipv4/udp');
    expect(kinds(parseFrame(raFrame()))).toBe('ipv6/icmpv6');
    expect(parseFrame(FRAMES.vlanUdp).ethernet.vlan).toEqual({ pcp: 3, dei: false, vid: 10 });
    const ext = parseFrame(FRAMES.ipv6WithExtensions).network;
    expect(ext.kind === 'ipv6' && ext.ext).toEqual({ protocol: IpProtocol.Udp, offset: 16 });
  });

  it('nests emits into one buffer (DHCP over UDP over IPv4 over Ethernet)', () => {
    const f = parseFrame(dhcpFrame());
    if (f.network.kind !== 'ipv4' || f.network.transport.kind !== 'udp') throw new Error('shape');
    const dhcp = DhcpRepr.parse(DhcpPacket.checked(f.network.transport.udp.payload));
    expect(dhcp).toMatchObject({ messageType: DhcpMessageType.Discover, hostname: 'vm', transactionId: 0x1234 });
  });

  it('returns unknown EtherTypes and IP protocols without decoding them', () => {
    const llc = FRAMES.arpRequest.slice();
    llc[12] = 0x88;
    llc[13] = 0xcc; // LLDP
    expect(parseFrame(llc).network).toMatchObject({ kind: 'unknown', etherType: 0x88cc });
    const gre = FRAMES.icmpEcho.slice();
    gre[14 + 9] = 47;
    Ipv4Packet.unchecked(gre.subarray(14)).fillChecksum();
    const n = parseFrame(gre).network;
    expect(n.kind === 'ipv4' && n.transport).toMatchObject({ kind: 'unknown', protocol: 47 });
  });

  it('verifies checksums unless told not to', () => {
    const bad = FRAMES.tcpSyn.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    expect(() => parseFrame(bad)).toThrow(WireError);
    expect(parseFrame(bad, { verifyChecksum: false }).network.kind).toBe('ipv4');
  });

  it('throws only WireError for every truncation of every golden frame', () => {
    for (const frame of [...Object.values(FRAMES), dhcpFrame(), raFrame()]) {
      for (let n = 0; n < frame.length; n++) {
        for (const verifyChecksum of [true, false]) {
          try {
            parseFrame(frame.subarray(0, n), { verifyChecksum });
          } catch (e) {
            expect(e).toBeInstanceOf(WireError);
          }
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Fuzz: random mutations of valid frames never escape as anything but WireError.

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const INTERESTING = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0f, 0x10, 0x3f, 0x40, 0x45, 0x60, 0x7f, 0x80, 0xfe, 0xff];

function mutate(r: (n: number) => number, input: Uint8Array): Uint8Array {
  let b = input.slice();
  const steps = 1 + r(4);
  for (let k = 0; k < steps; k++) {
    const at = b.length === 0 ? 0 : r(b.length);
    switch (r(7)) {
      case 0: // flip a bit
        if (b.length) b[at] = (b[at] ?? 0) ^ (1 << r(8));
        break;
      case 1: // random byte
        if (b.length) b[at] = r(256);
        break;
      case 2: // interesting byte (length/version/IHL-like values)
        if (b.length) b[at] = INTERESTING[r(INTERESTING.length)] ?? 0;
        break;
      case 3: // interesting 16-bit value (length fields)
        if (b.length > 1) {
          const v = [0, 1, 7, 8, 19, 20, 40, 0x7fff, 0xffff, b.length, b.length - 14][r(11)] ?? 0;
          b[at] = (v >> 8) & 0xff;
          b[at + 1] = v & 0xff;
        }
        break;
      case 4: // truncate
        b = b.slice(0, r(b.length + 1));
        break;
      case 5: {
        // append random bytes
        const extra = Uint8Array.from({ length: 1 + r(40) }, () => r(256));
        b = new Uint8Array([...b, ...extra]);
        break;
      }
      default: {
        // delete or duplicate a run
        const len = 1 + r(8);
        b = r(2) ? new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]) : new Uint8Array([...b.subarray(0, at + len), ...b.subarray(at)]);
      }
    }
  }
  return b;
}

describe('fuzz', () => {
  const corpus = [...Object.values(FRAMES), dhcpFrame(), raFrame()];

  it('parseFrame and describeFrame survive 10,000 random mutations', () => {
    const r = rng(0xc0ffee);
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      const frame = mutate(r, corpus[r(corpus.length)] ?? new Uint8Array(0));
      // Without checksum verification the mutation reaches the deeper parsers.
      for (const verifyChecksum of [false, true]) {
        try {
          parseFrame(frame, { verifyChecksum });
          parsed++;
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          expect(e.message).not.toContain(INTERNAL_ERROR_PREFIX);
          rejected++;
        }
      }
      const line = describeFrame(frame);
      expect(typeof line).toBe('string');
      expect(line).not.toContain('internal error');
    }
    // Both outcomes must actually occur, or the fuzzer is not exercising anything.
    expect(parsed).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  }, 30_000); // ~1 s alone; CPU contention must not fail it

  it('DhcpRepr.parse survives 5,000 random mutations', () => {
    const r = rng(42);
    const f = parseFrame(dhcpFrame()).network;
    if (f.kind !== 'ipv4' || f.transport.kind !== 'udp') throw new Error('shape');
    const dhcp = f.transport.udp.payload;
    for (let i = 0; i < 5000; i++) {
      const b = mutate(r, dhcp);
      try {
        DhcpRepr.parse(DhcpPacket.checked(b));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    }
  });

  it('parseFrame survives random garbage behind each EtherType', () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.from({ length: r(120) }, () => r(256));
      if (b.length >= 14) {
        const t = [0x0800, 0x86dd, 0x0806, 0x8100][r(4)] ?? 0;
        b[12] = t >> 8;
        b[13] = t & 0xff;
        if (t === 0x0800 && b.length > 14) b[14] = 0x45;
        if (t === 0x86dd && b.length > 14) b[14] = 0x60;
      }
      try {
        parseFrame(b, { verifyChecksum: false });
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
      describeFrame(b);
    }
  });
});
