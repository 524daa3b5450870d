import { describe, expect, it } from 'vitest';
import { DnsFormatError, Rcode, buildResponse, parseMessage, readName, truncate, udpLimit } from './message.js';

// A query for a.b A IN with RD:
const QUERY = Uint8Array.from([
  0xab, 0xcd, // ID
  0x01, 0x00, // QR=0 OPCODE=0 RD=1
  0x00, 0x01, // QDCOUNT 1
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // AN/NS/AR 0
  0x01, 0x41, 0x01, 0x62, 0x00, // QNAME "A.b" (mixed case)
  0x00, 0x01, // QTYPE A
  0x00, 0x01, // QCLASS IN
]);

describe('readName', () => {
  it('lowercases, follows pointers, and escapes odd bytes', () => {
    expect(readName(QUERY, 12)).toEqual({ name: 'a.b', end: 17 });
    const withPtr = Uint8Array.from([...QUERY, 0x01, 0x63, 0xc0, 12]);
    expect(readName(withPtr, 21)).toEqual({ name: 'c.a.b', end: 25 });
    expect(readName(Uint8Array.from([2, 0x2e, 0x00, 0]), 0).name).toBe('\\046\\000');
  });
  it('rejects loops, overruns, reserved label types and long names', () => {
    expect(() => readName(Uint8Array.from([0xc0, 0]), 0)).toThrow(DnsFormatError);
    expect(() => readName(Uint8Array.from([5, 1, 2]), 0)).toThrow(DnsFormatError);
    expect(() => readName(Uint8Array.from([0x40, 0]), 0)).toThrow(DnsFormatError);
    const long = Uint8Array.from([...Array.from({ length: 5 }, () => [63, ...new Array<number>(63).fill(0x61)]).flat(), 0]);
    expect(() => readName(long, 0)).toThrow(/255/);
  });
});

describe('buildResponse', () => {
  it('echoes id, RD and the question, and points answers at the question name', () => {
    const r = buildResponse(QUERY, parseMessage(QUERY).question, Rcode.NoError, {
      authoritative: true,
      answers: [{ type: 1, ttl: 60, rdata: Uint8Array.from([10, 0, 0, 1]) }],
    });
    expect([...r]).toEqual([
      0xab, 0xcd, // ID
      0x85, 0x80, // QR AA RD RA, NOERROR
      0, 1, 0, 1, 0, 0, 0, 0, // QD 1 AN 1
      0x01, 0x41, 0x01, 0x62, 0x00, 0, 1, 0, 1, // question, verbatim
      0xc0, 0x0c, // NAME: pointer to offset 12
      0, 1, 0, 1, // A IN
      0, 0, 0, 60, // TTL
      0, 4, 10, 0, 0, 1, // RDLENGTH RDATA
    ]);
  });
  it('builds header-only errors and truncated responses', () => {
    expect([...buildResponse(QUERY, undefined, Rcode.FormErr)]).toEqual([0xab, 0xcd, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
    const full = buildResponse(QUERY, parseMessage(QUERY).question, Rcode.NoError, {
      answers: [{ type: 1, ttl: 1, rdata: new Uint8Array(4) }],
    });
    const t = truncate(full, parseMessage(QUERY).question);
    expect([...t.subarray(0, 12)]).toEqual([0xab, 0xcd, 0x83, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(t.length).toBe(QUERY.length);
  });
});

describe('udpLimit', () => {
  it('is 512 without EDNS and the OPT payload size with it (never below 512)', () => {
    expect(udpLimit(parseMessage(QUERY))).toBe(512);
    const opt = (size: number): Uint8Array => {
      const m = Uint8Array.from([...QUERY, 0, 0, 41, size >> 8, size & 0xff, 0, 0, 0, 0, 0, 0]);
      m[11] = 1; // ARCOUNT
      return m;
    };
    expect(udpLimit(parseMessage(opt(1232)))).toBe(1232);
    expect(udpLimit(parseMessage(opt(100)))).toBe(512);
  });
});
