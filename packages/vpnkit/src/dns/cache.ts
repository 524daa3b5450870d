/**
 * A bounded LRU cache of upstream responses, keyed by (qname, qtype, qclass).
 *
 * RFC 1035 §3.2.1: TTL "specifies the time interval that the resource record
 * may be cached"; a response is kept for its smallest TTL and served with
 * every TTL reduced by the time it has spent here.
 * RFC 2308 §5: "Negative responses without SOA records SHOULD NOT be cached"
 * and §3: the negative TTL is "the minimum of the MINIMUM field of the SOA
 * record and the TTL of the SOA itself".
 */
import { type Message, Rcode, TYPE_OPT, TYPE_SOA, rcodeOf } from './message.js';

/** Caps, so one upstream answer cannot pin an entry for days. */
export const MAX_POSITIVE_TTL = 86400;
export const MAX_NEGATIVE_TTL = 3600;

interface Entry {
  response: Uint8Array;
  ttlOffsets: number[];
  ttls: number[];
  storedAt: number;
  expiresAt: number;
}

/** Seconds `response` may be cached, or 0 when it must not be. */
export function cacheTtl(response: Uint8Array, msg: Message): number {
  const rcode = rcodeOf(msg.header);
  const answers = msg.records.filter((r) => r.section === 'answer');
  if (rcode === Rcode.NoError && answers.length > 0) {
    const ttls = msg.records.filter((r) => r.type !== TYPE_OPT).map((r) => r.ttl);
    return Math.min(MAX_POSITIVE_TTL, ...ttls);
  }
  if (rcode !== Rcode.NoError && rcode !== Rcode.NXDomain) return 0;
  const soa = msg.records.find((r) => r.section === 'authority' && r.type === TYPE_SOA);
  if (soa === undefined || soa.rdlength < 20) return 0;
  // SOA rdata: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM; MINIMUM is its last 4 bytes.
  const end = soa.rdataOffset + soa.rdlength; // parseMessage checked end <= response.length
  const v = new DataView(response.buffer, response.byteOffset, response.byteLength);
  const minimum = v.getUint32(end - 4);
  return Math.min(MAX_NEGATIVE_TTL, soa.ttl, minimum);
}

export const cacheKey = (name: string, type: number, klass: number): string => `${name}|${type}|${klass}`;

export class DnsCache {
  readonly #entries = new Map<string, Entry>();
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Stores a copy of `response` (already parsed as `msg`) if it is cacheable. */
  put(key: string, response: Uint8Array, msg: Message, now: number): void {
    if (this.capacity <= 0) return;
    const ttl = cacheTtl(response, msg);
    if (ttl <= 0) return;
    const aged = msg.records.filter((r) => r.type !== TYPE_OPT);
    this.#entries.delete(key);
    this.#entries.set(key, {
      response: response.slice(),
      ttlOffsets: aged.map((r) => r.ttlOffset),
      ttls: aged.map((r) => r.ttl),
      storedAt: now,
      expiresAt: now + ttl * 1000,
    });
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** A fresh copy with TTLs reduced by the whole seconds elapsed, or undefined. */
  get(key: string, now: number): Uint8Array | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    const out = e.response.slice();
    const v = new DataView(out.buffer);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    e.ttlOffsets.forEach((off, i) => v.setUint32(off, Math.max(0, (e.ttls[i] ?? 0) - elapsed)));
    return out;
  }

  clear(): void {
    this.#entries.clear();
  }
}
