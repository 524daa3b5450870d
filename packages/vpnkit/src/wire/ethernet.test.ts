import { describe, expect, it } from 'vitest';
import { EthernetAddress } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { EtherType, EthernetFrame, EthernetRepr } from './ethernet.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

// An ARP request frame header (captured with scapy, 42-byte frame).
const UNTAGGED = hexToBytes(
  'ff ff ff ff ff ff', // destination: broadcast
  '02 50 00 00 00 02', // source
  '08 06', //             EtherType ARP
  '00 01 08 00 06 04 00 01', // payload (first 8 bytes of the ARP packet)
);

// An 802.1Q tagged IPv4 frame header: TPID 0x8100, PCP 3, DEI 0, VID 10.
const TAGGED = hexToBytes(
  '02 50 00 00 00 01', // destination
  '02 50 00 00 00 02', // source
  '81 00', //             TPID (802.1Q)
  '60 0a', //             TCI: PCP 3 (011), DEI 0, VID 10
  '08 00', //             EtherType IPv4
  '45 00', //             payload
);

describe('EthernetFrame / EthernetRepr', () => {
  it('parses an untagged frame', () => {
    const f = EthernetFrame.checked(UNTAGGED);
    expect(f.etherType).toBe(EtherType.Arp);
    expect(f.isVlanTagged).toBe(false);
    expect(f.headerLen).toBe(14);
    expect(bytesToHex(f.payload)).toBe('0001080006040001');
    expect(f.payload.buffer).toBe(UNTAGGED.buffer); // zero-copy
    const r = EthernetRepr.parse(f);
    expect(EthernetAddress.format(r.dst)).toBe('ff:ff:ff:ff:ff:ff');
    expect(EthernetAddress.format(r.src)).toBe('02:50:00:00:00:02');
    expect(r.etherType).toBe(EtherType.Arp);
    expect(r.vlan).toBeUndefined();
  });

  it('emits exactly the golden untagged header', () => {
    const r = EthernetRepr.parse(EthernetFrame.checked(UNTAGGED));
    const out = new Uint8Array(14);
    EthernetRepr.emit(r, EthernetFrame.unchecked(out));
    expect(bytesToHex(out)).toBe(bytesToHex(UNTAGGED.subarray(0, 14)));
    expect(EthernetRepr.headerLen(r)).toBe(14);
  });

  it('recognises one 802.1Q tag and round-trips it', () => {
    const f = EthernetFrame.checked(TAGGED);
    expect(f.etherType).toBe(EtherType.Vlan);
    expect(f.isVlanTagged).toBe(true);
    expect(f.payloadEtherType).toBe(EtherType.Ipv4);
    expect(f.headerLen).toBe(18);
    expect(bytesToHex(f.payload)).toBe('4500');
    const r = EthernetRepr.parse(f);
    expect(r).toMatchObject({ etherType: EtherType.Ipv4, vlan: { pcp: 3, dei: false, vid: 10 } });
    const out = new Uint8Array(18);
    EthernetRepr.emit(r, EthernetFrame.unchecked(out));
    expect(bytesToHex(out)).toBe(bytesToHex(TAGGED.subarray(0, 18)));
    expect(EthernetRepr.headerLen(r)).toBe(18);
  });

  it('rejects stacked (QinQ) tags as UNSUPPORTED', () => {
    const qinq = TAGGED.slice();
    qinq[12] = 0x88;
    qinq[13] = 0xa8;
    expect(codeOf(() => EthernetFrame.checked(qinq))).toBe('UNSUPPORTED');
    const doubleQ = TAGGED.slice();
    doubleQ[16] = 0x81;
    doubleQ[17] = 0x00;
    expect(codeOf(() => EthernetFrame.checked(doubleQ))).toBe('UNSUPPORTED');
  });

  it('reports TRUNCATED at every length below the header', () => {
    for (let n = 0; n < 14; n++) expect(codeOf(() => EthernetFrame.checked(UNTAGGED.subarray(0, n)))).toBe('TRUNCATED');
    for (let n = 0; n < 18; n++) expect(codeOf(() => EthernetFrame.checked(TAGGED.subarray(0, n)))).toBe('TRUNCATED');
    expect(codeOf(() => EthernetFrame.checked(UNTAGGED.subarray(0, 14)))).toBe('OK');
    expect(codeOf(() => EthernetFrame.checked(TAGGED.subarray(0, 18)))).toBe('OK');
  });

  it('validates emit inputs', () => {
    const r: EthernetRepr = { src: new Uint8Array(6), dst: new Uint8Array(6), etherType: EtherType.Ipv4 };
    expect(codeOf(() => EthernetRepr.emit(r, EthernetFrame.unchecked(new Uint8Array(13))))).toBe('BUFFER_TOO_SMALL');
    expect(codeOf(() => EthernetRepr.emit({ ...r, src: new Uint8Array(5) }, EthernetFrame.unchecked(new Uint8Array(14))))).toBe(
      'BAD_ADDRESS',
    );
    expect(codeOf(() => EthernetRepr.emit({ ...r, etherType: EtherType.Vlan }, EthernetFrame.unchecked(new Uint8Array(14))))).toBe(
      'INVALID_REPR',
    );
    expect(
      codeOf(() =>
        EthernetRepr.emit({ ...r, vlan: { pcp: 8, dei: false, vid: 1 } }, EthernetFrame.unchecked(new Uint8Array(18))),
      ),
    ).toBe('INVALID_REPR');
  });

  it('passes 802.3 length values through as the EtherType', () => {
    const llc = UNTAGGED.slice();
    llc[12] = 0x00;
    llc[13] = 0x26;
    expect(EthernetRepr.parse(EthernetFrame.checked(llc)).etherType).toBe(0x26);
  });
});
