/**
 * The parts of the DNS message format (RFC 1035 §4.1) the forwarder reads and writes.
 *
 *   Header:   ID[16] QR[1] Opcode[4] AA[1] TC[1] RD[1] RA[1] Z[3] RCODE[4]
 *             QDCOUNT[16] ANCOUNT[16] NSCOUNT[16] ARCOUNT[16]
 *   Question: QNAME QTYPE[16] QCLASS[16]
 *   RR:       NAME TYPE[16] CLASS[16] TTL[32] RDLENGTH[16] RDATA[RDLENGTH]
 *
 * Names are "a sequence of labels [...] each label consists of a length octet
 * followed by that number of octets" or end in a pointer "11 | OFFSET[14]"
 * (§4.1.4). Everything read here comes from a guest or an upstream, so every
 * offset is checked against the buffer and pointer chains are bounded.
 */

export const HEADER_LEN = 12;
export const enum Rcode {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NXDomain = 3,
  NotImp = 4,
  Refused = 5,
}
export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_CNAME = 5;
export const TYPE_SOA = 6;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;

/** RFC 1035 §2.3.4: "names 255 octets or less". */
const MAX_NAME_LEN = 255;
/** Enough for any legal name (at most 127 labels); stops pointer loops. */
const MAX_POINTER_HOPS = 128;

export class DnsFormatError extends Error {
  readonly code = 'EDNSFORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

export interface Header {
  id: number;
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function readHeader(buf: Uint8Array): Header | undefined {
  if (buf.length < HEADER_LEN) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // All six fields lie in the first 12 bytes, checked above.
  return {
    id: v.getUint16(0),
    flags: v.getUint16(2),
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
    nscount: v.getUint16(8),
    arcount: v.getUint16(10),
  };
}

export const isResponse = (h: Header): boolean => (h.flags & FLAG_QR) !== 0;
export const opcodeOf = (h: Header): number => (h.flags >> 11) & 0xf;
export const rcodeOf = (h: Header): number => h.flags & 0xf;
export const isTruncated = (h: Header): boolean => (h.flags & FLAG_TC) !== 0;

/**
 * Reads the name at `off`; returns it lowercased (dot-separated, no trailing
 * dot, '' for the root) and the offset just past it in the original position.
 * Label bytes outside printable ASCII are escaped as \DDD so distinct names
 * never compare equal.
 */
export function readName(buf: Uint8Array, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = off;
  let end = -1;
  let hops = 0;
  let wireLen = 1;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the message');
    const len = buf[pos]!; // pos < buf.length, checked above
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('pointer runs past the message');
      if (++hops > MAX_POINTER_HOPS) throw new DnsFormatError('pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!; // pos + 1 < buf.length, checked above
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('reserved label type');
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the message');
    wireLen += len + 1;
    if (wireLen > MAX_NAME_LEN) throw new DnsFormatError('name longer than 255 octets');
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = buf[i]!; // i < pos + 1 + len <= buf.length
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      label += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString().padStart(3, '0')}`;
    }
    labels.push(label);
    pos += len + 1;
  }
  return { name: labels.join('.'), end };
}

export interface Question {
  /** Lowercased, no trailing dot. */
  name: string;
  type: number;
  class: number;
  /** Byte range of the question section's one entry, to echo it verbatim. */
  start: number;
  end: number;
}

export function readQuestion(buf: Uint8Array, off: number): Question {
  const { name, end } = readName(buf, off);
  if (end + 4 > buf.length) throw new DnsFormatError('question runs past the message');
  const type = (buf[end]! << 8) | buf[end + 1]!; // end + 4 <= buf.length
  const klass = (buf[end + 2]! << 8) | buf[end + 3]!;
  return { name, type, class: klass, start: off, end: end + 4 };
}

export interface ResourceRecord {
  type: number;
  class: number;
  ttl: number;
  /** Offset of the TTL field, so a cached copy can be aged in place. */
  ttlOffset: number;
  rdataOffset: number;
  rdlength: number;
  section: 'answer' | 'authority' | 'additional';
}

export interface Message {
  header: Header;
  question: Question;
  records: ResourceRecord[];
}

/** Parses a whole message with exactly one question; throws DnsFormatError. */
export function parseMessage(buf: Uint8Array): Message {
  const header = readHeader(buf);
  if (header === undefined) throw new DnsFormatError('short header');
  if (header.qdcount !== 1) throw new DnsFormatError(`qdcount ${header.qdcount}`);
  const question = readQuestion(buf, HEADER_LEN);
  const records: ResourceRecord[] = [];
  let pos = question.end;
  const sections: [ResourceRecord['section'], number][] = [
    ['answer', header.ancount],
    ['authority', header.nscount],
    ['additional', header.arcount],
  ];
  for (const [section, count] of sections) {
    for (let i = 0; i < count; i++) {
      const { end } = readName(buf, pos);
      if (end + 10 > buf.length) throw new DnsFormatError('record header runs past the message');
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const rdlength = v.getUint16(end + 8); // end + 10 <= buf.length
      if (end + 10 + rdlength > buf.length) throw new DnsFormatError('rdata runs past the message');
      records.push({
        type: v.getUint16(end),
        class: v.getUint16(end + 2),
        ttl: v.getUint32(end + 4),
        ttlOffset: end + 4,
        rdataOffset: end + 10,
        rdlength,
        section,
      });
      pos = end + 10 + rdlength;
    }
  }
  return { header, question, records };
}

/** RFC 6891 §6.2.3: the requestor's UDP payload size, at least 512. */
export function udpLimit(query: Message): number {
  const opt = query.records.find((r) => r.type === TYPE_OPT && r.section === 'additional');
  return opt === undefined ? 512 : Math.max(512, opt.class);
}

export interface AnswerRecord {
  type: number;
  ttl: number;
  rdata: Uint8Array;
}

/**
 * Builds a response to `query` (whose question is echoed byte for byte, so
 * the guest's 0x20 case mixing survives). Answer owners are a pointer to the
 * question name at offset 12.
 */
export function buildResponse(
  query: Uint8Array,
  q: Question | undefined,
  rcode: number,
  opts: { authoritative?: boolean; answers?: AnswerRecord[] } = {},
): Uint8Array {
  const answers = opts.answers ?? [];
  const qlen = q === undefined ? 0 : q.end - q.start;
  const alen = answers.reduce((n, a) => n + 12 + a.rdata.length, 0);
  const out = new Uint8Array(HEADER_LEN + qlen + alen);
  const v = new DataView(out.buffer);
  const qh = readHeader(query);
  const qflags = qh?.flags ?? 0;
  v.setUint16(0, qh?.id ?? 0);
  v.setUint16(
    2,
    FLAG_QR | (qflags & 0x7800) | (opts.authoritative === true ? FLAG_AA : 0) | (qflags & FLAG_RD) | FLAG_RA | (rcode & 0xf),
  );
  v.setUint16(4, q === undefined ? 0 : 1);
  v.setUint16(6, answers.length);
  if (q !== undefined) out.set(query.subarray(q.start, q.end), HEADER_LEN);
  let pos = HEADER_LEN + qlen;
  for (const a of answers) {
    v.setUint16(pos, 0xc000 | HEADER_LEN);
    v.setUint16(pos + 2, a.type);
    v.setUint16(pos + 4, CLASS_IN);
    v.setUint32(pos + 6, a.ttl);
    v.setUint16(pos + 10, a.rdata.length);
    out.set(a.rdata, pos + 12);
    pos += 12 + a.rdata.length;
  }
  return out;
}

/** RFC 2181 §9: header and question only, TC set, so the client retries over TCP. */
export function truncate(response: Uint8Array, q: Question): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + (q.end - q.start));
  out.set(response.subarray(0, HEADER_LEN));
  out.set(response.subarray(q.start, q.end), HEADER_LEN);
  const v = new DataView(out.buffer);
  v.setUint16(2, v.getUint16(2) | FLAG_TC);
  v.setUint16(4, 1);
  v.setUint16(6, 0);
  v.setUint16(8, 0);
  v.setUint16(10, 0);
  return out;
}

export function setId(buf: Uint8Array, id: number): void {
  buf[0] = id >> 8;
  buf[1] = id & 0xff;
}

/** Encodes a dotted name (no compression) for PTR rdata. */
export function encodeName(name: string): Uint8Array {
  const labels = name.split('.').filter((l) => l.length > 0);
  const parts: number[] = [];
  for (const l of labels) {
    const bytes = new TextEncoder().encode(l).subarray(0, 63);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  return Uint8Array.from(parts.slice(0, MAX_NAME_LEN));
}
