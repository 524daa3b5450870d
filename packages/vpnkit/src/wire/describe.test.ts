import { describe, expect, it } from 'vitest';
import { hexToBytes } from './bytes.js';
import { describeFrame } from './describe.js';
import { Ipv4Packet } from './ipv4.js';

// Frames captured with scapy; expected lines are what `tcpdump -e -n` prints for
// them (tcpdump 4.99), except that SACK blocks are shown absolute, not relative
// to the ACK, and no application protocol (HTTP, DNS) is decoded.
const CASES: [string, Uint8Array, string][] = [
  [
    'ARP request',
    hexToBytes('ff ff ff ff ff ff 02 50 00 00 00 02 08 06', '00 01 08 00 06 04 00 01 02 50 00 00 00 02 c0 a8 41 02 00 00 00 00 00 00 c0 a8 41 01'),
    '02:50:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.168.65.1 tell 192.168.65.2, length 28',
  ],
  [
    'ARP reply',
    hexToBytes('02 50 00 00 00 02 02 50 00 00 00 01 08 06', '00 01 08 00 06 04 00 02 02 50 00 00 00 01 c0 a8 41 01 02 50 00 00 00 02 c0 a8 41 02'),
    '02:50:00:00:00:01 > 02:50:00:00:00:02, ethertype ARP (0x0806), length 42: Reply 192.168.65.1 is-at 02:50:00:00:00:01, length 28',
  ],
  [
    'TCP SYN with options',
    hexToBytes(
      '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
      '45 00 00 3c 1c 46 40 00 40 06 1b 22 c0 a8 41 02 c0 a8 41 01',
      '9c 40 00 50 01 02 03 04 00 00 00 00 a0 02 fa f0 43 9d 00 00',
      '02 04 05 b4 04 02 08 0a a1 b2 c3 d4 00 00 00 00 01 03 03 07',
    ),
    '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype IPv4 (0x0800), length 74: 192.168.65.2.40000 > 192.168.65.1.80: ' +
      'Flags [S], seq 16909060, win 64240, options [mss 1460,sackOK,TS val 2712847316 ecr 0,nop,wscale 7], length 0',
  ],
  [
    'TCP data with SACK',
    hexToBytes(
      '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
      '45 00 00 4d 1c 47 40 00 40 06 1b 10 c0 a8 41 02 c0 a8 41 01',
      '9c 40 00 50 01 02 03 05 0a 0b 0c 0d d0 18 01 f6 4f be 00 00',
      '01 01 08 0a a1 b2 c3 d5 11 22 33 44 01 01 05 12 00 00 03 e8 00 00 07 d0 00 00 0b b8 00 00 0f a0',
      '68 65 6c 6c 6f',
    ),
    '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype IPv4 (0x0800), length 91: 192.168.65.2.40000 > 192.168.65.1.80: ' +
      'Flags [P.], seq 16909061:16909066, ack 168496141, win 502, ' +
      'options [nop,nop,TS val 2712847317 ecr 287454020,nop,nop,sack 2 {1000:2000}{3000:4000}], length 5',
  ],
  [
    'UDP over IPv6',
    hexToBytes(
      '02 50 00 00 00 01 02 50 00 00 00 02 86 dd',
      '60 00 00 00 00 0e 11 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01',
      '82 35 00 35 00 0e 34 1f 6b 69 74 62 6f 78',
    ),
    '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype IPv6 (0x86dd), length 68: fd00::2.33333 > fd00::1.53: UDP, length 6',
  ],
  [
    'Neighbor Solicitation',
    hexToBytes(
      '33 33 ff 00 00 01 02 50 00 00 00 02 86 dd',
      '60 00 00 00 00 20 3a ff fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 02 ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 01',
      '87 00 7b a7 00 00 00 00 fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 01 01 01 02 50 00 00 00 02',
    ),
    '02:50:00:00:00:02 > 33:33:ff:00:00:01, ethertype IPv6 (0x86dd), length 86: fe80::50:ff:fe00:2 > ff02::1:ff00:1: ' +
      'ICMP6, neighbor solicitation, who has fe80::50:ff:fe00:1, length 32',
  ],
  [
    'ICMP port unreachable',
    hexToBytes(
      '02 50 00 00 00 02 02 50 00 00 00 01 08 00',
      '45 00 00 3e 00 02 00 00 40 01 77 69 c0 a8 41 01 c0 a8 41 02 03 03 00 71 00 00 00 00',
      '45 00 00 22 42 42 00 00 40 11 35 35 c0 a8 41 02 c0 a8 41 01 82 35 00 35 00 0e 2a cf 6b 69 74 62 6f 78',
    ),
    '02:50:00:00:00:01 > 02:50:00:00:00:02, ethertype IPv4 (0x0800), length 76: 192.168.65.1 > 192.168.65.2: ' +
      'ICMP 192.168.65.1 udp port 53 unreachable, length 42',
  ],
  [
    'VLAN-tagged UDP',
    hexToBytes(
      '02 50 00 00 00 01 02 50 00 00 00 02 81 00 60 0a 08 00',
      '45 00 00 1c 00 05 00 00 40 11 77 78 c0 a8 41 02 c0 a8 41 01 00 01 00 02 00 08 fc 86',
    ),
    '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype 802.1Q (0x8100), length 46: vlan 10, p 3, ethertype IPv4 (0x0800), ' +
      '192.168.65.2.1 > 192.168.65.1.2: UDP, length 0',
  ],
  [
    'ICMP echo request',
    hexToBytes(
      '02 50 00 00 00 01 02 50 00 00 00 02 08 00',
      '45 00 00 24 00 01 00 00 40 01 77 84 c0 a8 41 02 c0 a8 41 01 08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68',
    ),
    '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype IPv4 (0x0800), length 50: 192.168.65.2 > 192.168.65.1: ' +
      'ICMP echo request, id 4660, seq 1, length 16',
  ],
];

const ECHO = CASES[8]?.[1] ?? new Uint8Array(0);

describe('describeFrame', () => {
  it.each(CASES)('%s', (_name, frame, expected) => {
    expect(describeFrame(frame)).toBe(expected);
  });

  it('marks a truncated Ethernet header', () => {
    expect(describeFrame(ECHO.subarray(0, 10))).toBe('[|ether: TRUNCATED] length 10');
  });

  it('marks a truncated IP layer', () => {
    expect(describeFrame(ECHO.subarray(0, 30))).toBe(
      '02:50:00:00:00:02 > 02:50:00:00:00:01, ethertype IPv4 (0x0800), length 30: IP [|ip: TRUNCATED]',
    );
  });

  it('flags bad checksums', () => {
    const b = ECHO.slice();
    b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 1; // corrupt the ICMP data
    expect(describeFrame(b)).toMatch(/ICMP echo request, id 4660, seq 1, length 16 \[bad icmp cksum 0x5435\]$/);
    const c = ECHO.slice();
    c[14 + 8] = 63; // TTL change without a checksum update
    expect(describeFrame(c)).toMatch(/\[bad ip cksum 0x7784\]$/);
  });

  it('describes an IPv4 fragment', () => {
    const b = ECHO.slice();
    b[14 + 6] = 0x20; // MF
    Ipv4Packet.unchecked(b.subarray(14)).fillChecksum();
    expect(describeFrame(b)).toMatch(/192\.168\.65\.2 > 192\.168\.65\.1: frag \(id 1, 16@0\+\), proto ICMP \(1\)$/);
  });

  it('describes unknown EtherTypes, 802.3 lengths and QinQ', () => {
    const b = ECHO.slice();
    b[12] = 0x88;
    b[13] = 0xcc;
    expect(describeFrame(b)).toMatch(/ethertype Unknown \(0x88cc\), length 50: 36 bytes$/);
    b[12] = 0x00;
    b[13] = 0x24;
    expect(describeFrame(b)).toMatch(/802\.3 length 36, length 50: 36 bytes$/);
    b[12] = 0x88;
    b[13] = 0xa8;
    expect(describeFrame(b)).toMatch(/ethertype 802\.1Q-QinQ \(0x88a8\), length 50: \[\|ether: UNSUPPORTED\]$/);
  });

  it('never throws on garbage', () => {
    for (let n = 0; n < 100; n++) expect(typeof describeFrame(new Uint8Array(n).fill(n))).toBe('string');
  });
});
