import { describe, expect, it } from 'vitest';
import { EthernetAddress, Ipv4Address } from './address.js';
import { ArpOperation, ArpPacket, ArpRepr } from './arp.js';
import { bytesToHex, hexToBytes } from './bytes.js';
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

// RFC 826 request: "who has 192.168.65.1? tell 192.168.65.2" (captured with scapy).
const REQUEST = hexToBytes(
  '00 01', //             ar$hrd: Ethernet
  '08 00', //             ar$pro: IPv4
  '06', //                ar$hln
  '04', //                ar$pln
  '00 01', //             ar$op: REQUEST
  '02 50 00 00 00 02', // ar$sha
  'c0 a8 41 02', //       ar$spa 192.168.65.2
  '00 00 00 00 00 00', // ar$tha (unknown)
  'c0 a8 41 01', //       ar$tpa 192.168.65.1
);

// The reply: "192.168.65.1 is-at 02:50:00:00:00:01".
const REPLY = hexToBytes(
  '00 01 08 00 06 04', // Ethernet/IPv4, hln 6, pln 4
  '00 02', //             ar$op: REPLY
  '02 50 00 00 00 01', // ar$sha
  'c0 a8 41 01', //       ar$spa 192.168.65.1
  '02 50 00 00 00 02', // ar$tha
  'c0 a8 41 02', //       ar$tpa 192.168.65.2
);

describe('ArpPacket / ArpRepr', () => {
  it('parses the golden request', () => {
    const p = ArpPacket.checked(REQUEST);
    expect(p.isEthernetIpv4).toBe(true);
    expect(p.packetLen).toBe(28);
    const r = ArpRepr.parse(p);
    expect(r.operation).toBe(ArpOperation.Request);
    expect(EthernetAddress.format(r.senderHardwareAddr)).toBe('02:50:00:00:00:02');
    expect(Ipv4Address.format(r.senderProtocolAddr)).toBe('192.168.65.2');
    expect(EthernetAddress.format(r.targetHardwareAddr)).toBe('00:00:00:00:00:00');
    expect(Ipv4Address.format(r.targetProtocolAddr)).toBe('192.168.65.1');
  });

  it('emits exactly the golden request and reply', () => {
    for (const golden of [REQUEST, REPLY]) {
      const r = ArpRepr.parse(ArpPacket.checked(golden));
      const out = new Uint8Array(ArpRepr.bufferLen(r));
      ArpRepr.emit(r, ArpPacket.unchecked(out));
      expect(bytesToHex(out)).toBe(bytesToHex(golden));
    }
  });

  it('builds a reply from a request', () => {
    const req = ArpRepr.parse(ArpPacket.checked(REQUEST));
    const reply: ArpRepr = {
      operation: ArpOperation.Reply,
      senderHardwareAddr: EthernetAddress.parse('02:50:00:00:00:01'),
      senderProtocolAddr: req.targetProtocolAddr,
      targetHardwareAddr: req.senderHardwareAddr,
      targetProtocolAddr: req.senderProtocolAddr,
    };
    const out = new Uint8Array(28);
    ArpRepr.emit(reply, ArpPacket.unchecked(out));
    expect(bytesToHex(out)).toBe(bytesToHex(REPLY));
  });

  it('reports TRUNCATED at every length below 28', () => {
    for (let n = 0; n < 28; n++) expect(codeOf(() => ArpPacket.checked(REQUEST.subarray(0, n)))).toBe('TRUNCATED');
  });

  it('validates lengths from hln/pln before reading addresses', () => {
    const big = REQUEST.slice();
    big[4] = 255; // hln 255: needs 8 + 2 * (255 + 4) bytes
    expect(codeOf(() => ArpPacket.checked(big))).toBe('TRUNCATED');
  });

  it('rejects non-Ethernet/IPv4 and unknown operations as UNSUPPORTED', () => {
    const tokenRing = REQUEST.slice();
    tokenRing[1] = 6;
    expect(codeOf(() => ArpRepr.parse(ArpPacket.checked(tokenRing)))).toBe('UNSUPPORTED');
    const ipv6 = REQUEST.slice();
    ipv6[2] = 0x86;
    ipv6[3] = 0xdd;
    expect(codeOf(() => ArpRepr.parse(ArpPacket.checked(ipv6)))).toBe('UNSUPPORTED');
    const rarp = REQUEST.slice();
    rarp[7] = 3;
    expect(codeOf(() => ArpRepr.parse(ArpPacket.checked(rarp)))).toBe('UNSUPPORTED');
  });

  it('validates emit inputs', () => {
    const r = ArpRepr.parse(ArpPacket.checked(REQUEST));
    expect(codeOf(() => ArpRepr.emit(r, ArpPacket.unchecked(new Uint8Array(27))))).toBe('BUFFER_TOO_SMALL');
    expect(codeOf(() => ArpRepr.emit({ ...r, senderProtocolAddr: -1 }, ArpPacket.unchecked(new Uint8Array(28))))).toBe(
      'INVALID_REPR',
    );
  });
});
