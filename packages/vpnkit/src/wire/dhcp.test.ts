import { describe, expect, it } from 'vitest';
import { EthernetAddress, Ipv4Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { BOOTP_MIN_LEN, DhcpMessageType, DhcpPacket, DhcpRepr, dhcpOptions } from './dhcp.js';
import { WireError } from './error.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

const ip = Ipv4Address.parse;
const zeros = (n: number): string => '00'.repeat(n);

/** BOOTP fixed part (RFC 2131 Figure 1) as hex, for goldens. */
function fixedPart(f: { op: string; xid: string; secs: string; flags: string; ciaddr: string; yiaddr: string }): string {
  return [
    f.op, //              op
    '01', //              htype: Ethernet
    '06', //              hlen
    '00', //              hops
    f.xid, //             xid
    f.secs, //            secs
    f.flags, //           flags
    f.ciaddr, //          ciaddr
    f.yiaddr, //          yiaddr
    '00 00 00 00', //     siaddr
    '00 00 00 00', //     giaddr
    '02 50 00 00 00 02' + zeros(10), // chaddr (16 bytes)
    zeros(64), //         sname
    zeros(128), //        file
    '63 82 53 63', //     magic cookie 99.130.83.99
  ].join('');
}

// A DHCPDISCOVER as a typical client sends it (captured with scapy).
const DISCOVER = hexToBytes(
  fixedPart({ op: '01', xid: '39 03 f3 26', secs: '00 03', flags: '00 00', ciaddr: '00000000', yiaddr: '00000000' }),
  '35 01 01', //                   53 message type: DISCOVER
  '3d 07 01 02 50 00 00 00 02', // 61 client id: type 1 (Ethernet) + MAC
  '32 04 c0 a8 41 02', //          50 requested IP 192.168.65.2
  '39 02 05 dc', //                57 max message size 1500
  '0c 02 76 6d', //                12 hostname "vm"
  '37 09 01 03 06 0f 1a 1c 33 3a 3b', // 55 parameter request list
  'ff', //                          end
);

const OFFER_REPR: DhcpRepr = {
  messageType: DhcpMessageType.Offer,
  transactionId: 0x3903f326,
  clientHardwareAddr: EthernetAddress.parse('02:50:00:00:00:02'),
  clientIp: 0,
  yourIp: ip('192.168.65.2'),
  serverIp: 0,
  relayAgentIp: 0,
  secs: 0,
  broadcast: false,
  hops: 0,
  serverIdentifier: ip('192.168.65.1'),
  leaseTime: 7200,
  renewalTime: 3600,
  rebindingTime: 6300,
  subnetMask: ip('255.255.255.0'),
  routers: [ip('192.168.65.1')],
  dnsServers: [ip('192.168.65.1')],
  domainName: 'kitbox.internal',
  interfaceMtu: 1500,
};

// The DHCPOFFER `emit` must produce for OFFER_REPR, built by hand from RFC 2131/2132.
const OFFER = hexToBytes(
  fixedPart({ op: '02', xid: '39 03 f3 26', secs: '00 00', flags: '00 00', ciaddr: '00000000', yiaddr: 'c0 a8 41 02' }),
  '35 01 02', //             53 message type: OFFER
  '36 04 c0 a8 41 01', //    54 server identifier 192.168.65.1
  '33 04 00 00 1c 20', //    51 lease time 7200
  '3a 04 00 00 0e 10', //    58 renewal (T1) 3600
  '3b 04 00 00 18 9c', //    59 rebinding (T2) 6300
  '01 04 ff ff ff 00', //    1 subnet mask
  '03 04 c0 a8 41 01', //    3 router
  '06 04 c0 a8 41 01', //    6 DNS server
  '0f 0f 6b 69 74 62 6f 78 2e 69 6e 74 65 72 6e 61 6c', // 15 domain name "kitbox.internal"
  '1a 02 05 dc', //          26 interface MTU 1500
  'ff', //                   end (307 bytes: no padding needed)
);

// A DHCPNAK: short, so padded to the 300-byte BOOTP minimum.
const NAK = hexToBytes(
  fixedPart({ op: '02', xid: '00 00 00 2a', secs: '00 00', flags: '80 00', ciaddr: '00000000', yiaddr: '00000000' }),
  '35 01 06', //                   53 message type: NAK
  '36 04 c0 a8 41 01', //          54 server identifier
  '38 08 77 72 6f 6e 67 20 49 50', // 56 message "wrong IP"
  'ff', //                          end, at offset 259
  zeros(300 - 260), //              pad to 300
);

describe('DhcpRepr.parse', () => {
  it('parses the golden DISCOVER', () => {
    const r = DhcpRepr.parse(DhcpPacket.checked(DISCOVER));
    expect(r).toEqual({
      messageType: DhcpMessageType.Discover,
      transactionId: 0x3903f326,
      clientHardwareAddr: EthernetAddress.parse('02:50:00:00:00:02'),
      clientIp: 0,
      yourIp: 0,
      serverIp: 0,
      relayAgentIp: 0,
      secs: 3,
      broadcast: false,
      hops: 0,
      clientIdentifier: hexToBytes('01 02 50 00 00 00 02'),
      requestedIp: ip('192.168.65.2'),
      maxMessageSize: 1500,
      hostname: 'vm',
      parameterRequestList: Uint8Array.of(1, 3, 6, 15, 26, 28, 51, 58, 59),
    });
  });

  it('tolerates a missing End option and skips Pad', () => {
    const b = DISCOVER.slice(0, DISCOVER.length - 1);
    expect(DhcpRepr.parse(DhcpPacket.checked(b)).hostname).toBe('vm');
    const padded = new Uint8Array([...DISCOVER.subarray(0, 240), 0, 0, 0, ...DISCOVER.subarray(240)]);
    expect(DhcpRepr.parse(DhcpPacket.checked(padded)).messageType).toBe(DhcpMessageType.Discover);
  });

  it('ignores Option Overload (52) and never parses sname/file', () => {
    const b = new Uint8Array([...DISCOVER.subarray(0, 240), 0x34, 0x01, 0x03, ...DISCOVER.subarray(240)]);
    b.fill(0xff, 44, 236); // sname/file full of garbage
    expect(DhcpRepr.parse(DhcpPacket.checked(b)).messageType).toBe(DhcpMessageType.Discover);
  });

  it('strips trailing NULs from strings', () => {
    const b = new Uint8Array([...DISCOVER.subarray(0, 240), ...hexToBytes('35 01 01 0c 03 76 6d 00 ff')]);
    expect(DhcpRepr.parse(DhcpPacket.checked(b)).hostname).toBe('vm');
  });

  it('concatenates split options (RFC 3396)', () => {
    const b = new Uint8Array([...DISCOVER.subarray(0, 240), ...hexToBytes('35 01 01 06 02 0a 00 06 06 00 01 0a 00 00 02 ff')]);
    expect(DhcpRepr.parse(DhcpPacket.checked(b)).dnsServers).toEqual([ip('10.0.0.1'), ip('10.0.0.2')]);
  });

  it('reports TRUNCATED at every length below 240', () => {
    for (let n = 0; n < 240; n++) expect(codeOf(() => DhcpPacket.checked(DISCOVER.subarray(0, n)))).toBe('TRUNCATED');
  });

  it('reports BAD_OPTION for every cut inside an option', () => {
    // Cutting between options is fine (End is optional); cutting inside one is not.
    const boundaries = new Set([240, 243, 252, 258, 262, 266, 277, 278]);
    for (let n = 240; n < DISCOVER.length; n++) {
      const cut = DISCOVER.subarray(0, n);
      const expected = boundaries.has(n) ? (n === 240 ? 'UNSUPPORTED' : 'OK') : 'BAD_OPTION';
      expect([n, codeOf(() => DhcpRepr.parse(DhcpPacket.checked(cut)))]).toEqual([n, expected]);
    }
  });

  it.each([
    ['message type of length 2', '35 02 01 01'],
    ['subnet mask of length 3', '35 01 01 01 03 ff ff ff'],
    ['router list of length 5', '35 01 01 03 05 01 02 03 04 05'],
    ['DNS list of length 0', '35 01 01 06 00'],
    ['MTU of length 1', '35 01 01 1a 01 05'],
    ['client id of length 1', '35 01 01 3d 01 01'],
    ['lease time of length 2', '35 01 01 33 02 00 01'],
    ['hostname of length 0', '35 01 01 0c 00'],
  ])('rejects %s', (_name, opts) => {
    const b = new Uint8Array([...DISCOVER.subarray(0, 240), ...hexToBytes(opts, 'ff')]);
    expect(codeOf(() => DhcpRepr.parse(DhcpPacket.checked(b)))).toBe('BAD_OPTION');
  });

  it('checks cookie, op, hardware type and message type', () => {
    const cookie = DISCOVER.slice();
    cookie[239] = 0x64;
    expect(codeOf(() => DhcpRepr.parse(DhcpPacket.checked(cookie)))).toBe('BAD_MAGIC');
    const op = DISCOVER.slice();
    op[0] = 3;
    expect(codeOf(() => DhcpRepr.parse(DhcpPacket.checked(op)))).toBe('MALFORMED');
    const htype = DISCOVER.slice();
    htype[1] = 6;
    expect(codeOf(() => DhcpRepr.parse(DhcpPacket.checked(htype)))).toBe('UNSUPPORTED');
    const bootp = new Uint8Array([...DISCOVER.subarray(0, 240), 0xff]);
    expect(codeOf(() => DhcpRepr.parse(DhcpPacket.checked(bootp)))).toBe('UNSUPPORTED');
  });

  it('iterates raw options', () => {
    const codes = [...dhcpOptions(DhcpPacket.checked(DISCOVER).options)].map((o) => o.code);
    expect(codes).toEqual([53, 61, 50, 57, 12, 55]);
  });
});

describe('DhcpRepr.emit', () => {
  it('emits the golden OFFER byte for byte', () => {
    expect(DhcpRepr.bufferLen(OFFER_REPR)).toBe(OFFER.length);
    const out = new Uint8Array(DhcpRepr.bufferLen(OFFER_REPR));
    DhcpRepr.emit(OFFER_REPR, DhcpPacket.unchecked(out));
    expect(bytesToHex(out)).toBe(bytesToHex(OFFER));
    expect(DhcpRepr.parse(DhcpPacket.checked(out))).toEqual(OFFER_REPR);
  });

  it('emits the golden NAK, padded to 300 bytes', () => {
    const nak: DhcpRepr = {
      messageType: DhcpMessageType.Nak,
      transactionId: 42,
      clientHardwareAddr: EthernetAddress.parse('02:50:00:00:00:02'),
      clientIp: 0,
      yourIp: 0,
      serverIp: 0,
      relayAgentIp: 0,
      broadcast: true,
      serverIdentifier: ip('192.168.65.1'),
      message: 'wrong IP',
    };
    expect(DhcpRepr.bufferLen(nak)).toBe(BOOTP_MIN_LEN);
    const out = new Uint8Array(BOOTP_MIN_LEN);
    out.fill(0xee); // emit must clear stale bytes
    DhcpRepr.emit(nak, DhcpPacket.unchecked(out));
    expect(bytesToHex(out)).toBe(bytesToHex(NAK));
  });

  it('round-trips an ACK with every option', () => {
    const ack: DhcpRepr = {
      ...OFFER_REPR,
      messageType: DhcpMessageType.Ack,
      clientIp: ip('192.168.65.2'),
      secs: 9,
      hops: 1,
      broadcast: true,
      relayAgentIp: ip('10.0.0.1'),
      serverIp: ip('192.168.65.1'),
      hostname: 'docker-desktop',
      requestedIp: ip('192.168.65.2'),
      clientIdentifier: hexToBytes('01 02 50 00 00 00 02'),
      parameterRequestList: Uint8Array.of(1, 3, 6),
      maxMessageSize: 576,
      message: 'ok',
    };
    const out = new Uint8Array(DhcpRepr.bufferLen(ack));
    DhcpRepr.emit(ack, DhcpPacket.unchecked(out));
    expect(DhcpPacket.checked(out).op).toBe(2);
    expect(DhcpRepr.parse(DhcpPacket.checked(out))).toEqual(ack);
  });

  it('splits an option longer than 255 bytes (RFC 3396)', () => {
    const dns = Array.from({ length: 70 }, (_, i) => (0x0a000000 + i) >>> 0);
    const r: DhcpRepr = { ...OFFER_REPR, dnsServers: dns };
    const out = new Uint8Array(DhcpRepr.bufferLen(r));
    DhcpRepr.emit(r, DhcpPacket.unchecked(out));
    const sixes = [...dhcpOptions(DhcpPacket.checked(out).options)].filter((o) => o.code === 6).map((o) => o.data.length);
    expect(sixes).toEqual([255, 25]);
    expect(DhcpRepr.parse(DhcpPacket.checked(out)).dnsServers).toEqual(dns);
  });

  it('validates emit inputs', () => {
    expect(codeOf(() => DhcpRepr.emit(OFFER_REPR, DhcpPacket.unchecked(new Uint8Array(300))))).toBe('BUFFER_TOO_SMALL');
    const big = new Uint8Array(400);
    expect(codeOf(() => DhcpRepr.emit({ ...OFFER_REPR, routers: [] }, DhcpPacket.unchecked(big)))).toBe('INVALID_REPR');
    expect(codeOf(() => DhcpRepr.emit({ ...OFFER_REPR, leaseTime: -1 }, DhcpPacket.unchecked(big)))).toBe('INVALID_REPR');
    expect(codeOf(() => DhcpRepr.emit({ ...OFFER_REPR, clientHardwareAddr: new Uint8Array(8) }, DhcpPacket.unchecked(big)))).toBe(
      'BAD_ADDRESS',
    );
  });
});
