/**
 * Local names: the hosts file and built-in names, answered without asking upstream.
 *
 * hosts(5): "one line per IP address, with the following information:
 *   IP_address canonical_hostname [aliases...]
 * [...] Text from a "#" character until the end of the line is a comment".
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Bounds on what a (possibly huge or hostile) hosts file may add. */
export const MAX_LOCAL_NAMES = 16384;
const MAX_ADDRESSES_PER_NAME = 32;

/** Lowercases and drops one trailing dot: 'Host.Docker.Internal.' -> 'host.docker.internal'. */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function validName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => l.length > 0 && l.length <= 63);
}

/** 4 or 16 network-order bytes, or undefined when `text` is not an address. */
export function addressBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const v4 = s.slice(lastColon + 1);
  if (v4.includes('.')) {
    // '::ffff:1.2.3.4' -> '::ffff:102:304' (isIPv6 has checked the dotted part).
    const b = v4.split('.').map(Number);
    const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(b[0] ?? 0, b[1] ?? 0)}:${hex(b[2] ?? 0, b[3] ?? 0)}`;
  }
  const [head = '', rest] = s.split('::');
  const words = (p: string): number[] => (p === '' ? [] : p.split(':').map((w) => parseInt(w, 16)));
  const h = words(head);
  const r = rest === undefined ? [] : words(rest);
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const all = [...h, ...new Array<number>(Math.max(0, fill)).fill(0), ...r];
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** The in-addr.arpa / ip6.arpa name of an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(addr: Uint8Array): string {
  if (addr.length === 4) return `${[...addr].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of addr) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

export interface LocalEntry {
  v4: Uint8Array[];
  v6: Uint8Array[];
}

/** A bounded table of name -> addresses, with the reverse (PTR) table beside it. */
export class LocalNames {
  readonly #names = new Map<string, LocalEntry>();
  readonly #reverse = new Map<string, string>();

  get size(): number {
    return this.#names.size;
  }

  add(name: string, address: string): boolean {
    const n = normalizeName(name);
    const bytes = addressBytes(address);
    if (bytes === undefined || !validName(n)) return false;
    let e = this.#names.get(n);
    if (e === undefined) {
      if (this.#names.size >= MAX_LOCAL_NAMES) return false;
      e = { v4: [], v6: [] };
      this.#names.set(n, e);
    }
    const list = bytes.length === 4 ? e.v4 : e.v6;
    if (list.length >= MAX_ADDRESSES_PER_NAME || list.some((a) => a.every((b, i) => b === bytes[i]))) return true;
    list.push(bytes);
    const rev = reverseName(bytes);
    // The first name given for an address is its canonical name.
    if (!this.#reverse.has(rev) && this.#reverse.size < MAX_LOCAL_NAMES) this.#reverse.set(rev, n);
    return true;
  }

  lookup(name: string): LocalEntry | undefined {
    return this.#names.get(normalizeName(name));
  }

  /** `name` is an in-addr.arpa/ip6.arpa name. */
  reverse(name: string): string | undefined {
    return this.#reverse.get(normalizeName(name));
  }
}

/** Parses hosts(5) text into `into`; junk lines and names `skip` claims are skipped. Returns the names added. */
export function parseHosts(text: string, into: LocalNames, skip: (name: string) => boolean = () => false): number {
  let added = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [addr, ...names] = line.split(/\s+/);
    if (addr === undefined || addressBytes(addr) === undefined) continue;
    for (const name of names) if (!skip(normalizeName(name)) && into.add(name, addr)) added++;
  }
  return added;
}
