/**
 * The guest's DNS server: local names first, then the cache, then the host's
 * upstream servers.
 *
 * RFC 1035 §4.1.1 RCODE: "1 Format error - The name server was unable to
 * interpret the query. [...] 2 Server failure [...] 4 Not Implemented - The
 * name server does not support the requested kind of query."
 * RFC 4074 §3: a name that exists without records of the asked type gets
 * NOERROR with an empty answer (NODATA), never NXDOMAIN.
 *
 * @example
 * const dns = new DnsForwarder({ names: { 'host.docker.internal': ['192.168.65.2'] } });
 * const reply = await dns.handle(udpPayload, 'udp'); // undefined: drop
 */
import { randomInt } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { DnsCache, cacheKey } from './cache.js';
import { LocalNames, normalizeName, parseHosts } from './hosts.js';
import {
  type AnswerRecord,
  CLASS_IN,
  DnsFormatError,
  HEADER_LEN,
  type Message,
  type Question,
  Rcode,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_OPT,
  TYPE_PTR,
  buildResponse,
  encodeName,
  isResponse,
  isTruncated,
  opcodeOf,
  parseMessage,
  rcodeOf,
  readHeader,
  readQuestion,
  setId,
  truncate,
  udpLimit,
} from './message.js';
import { parseResolvConf } from './resolvconf.js';
import type { DnsServerAddress, DnsTransport } from './transport.js';
import { nodeDnsTransport } from './upstream.js';

export interface DnsForwarderOptions {
  /** Default: the nameservers of `resolvConfPath` (port 53); none means every forwarded query gets SERVFAIL. */
  upstreams?: DnsServerAddress[];
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
  /** Path of a hosts(5) file, reloaded when its mtime changes (checked at most once a second). */
  hosts?: string;
  /**
   * Built-in names -> addresses; case-insensitive, trailing dot tolerated. They win over the hosts
   * file (which on a Windows host may hold a host.docker.internal that is the host's LAN address).
   */
  names?: Record<string, string[]>;
  /**
   * TTL of local answers in seconds, default 0 (as moby/vpnkit): guests then do not keep a
   * stale address when the host's network or hosts file changes, and a local answer is cheap.
   */
  localTtl?: number;
  /** Cached responses, default 1024 (LRU). */
  cacheSize?: number;
  /** Per upstream attempt, default 2000. */
  timeoutMs?: number;
  /**
   * Largest UDP response, whatever a client's EDNS0 payload size says; default 1232
   * (DNS Flag Day 2020), which fits an IPv6 packet on a 1280-byte link unfragmented.
   */
  maxUdpPayload?: number;
  /** Concurrent forwarded queries, default 256; beyond it SERVFAIL. */
  maxInFlight?: number;
  transport?: DnsTransport;
  /** Milliseconds, default performance.now. */
  now?: () => number;
}

export interface DnsForwarderStats {
  queries: number;
  localAnswers: number;
  cacheHits: number;
  forwarded: number;
  /** Queries that joined an identical query already in flight. */
  coalesced: number;
  /** Queries answered SERVFAIL (no upstream answered, or the in-flight bound was hit). */
  failures: number;
  /** FORMERR / NOTIMP answers to malformed or unsupported queries. */
  rejected: number;
  /** Messages dropped without an answer. */
  dropped: number;
  inFlight: number;
}

const HOSTS_CHECK_INTERVAL_MS = 1000;

export class DnsForwarder {
  readonly #opts: DnsForwarderOptions;
  readonly #transport: DnsTransport;
  readonly #now: () => number;
  readonly #cache: DnsCache;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #localTtl: number;
  readonly #maxUdpPayload: number;
  readonly #closed = new AbortController();
  #upstreams: DnsServerAddress[] | undefined;
  #upstreamsLoading: Promise<void> | undefined;
  /** Index of the upstream that answered last; tried first. */
  #preferred = 0;
  #local: LocalNames;
  #hostsMtime = -1;
  #hostsCheckedAt = -Infinity;
  #hostsLoading: Promise<void> | undefined;
  #inFlight = 0;
  /** Forwarded queries in flight by cache key and protocol; at most maxInFlight entries. */
  readonly #pending = new Map<string, Promise<[Uint8Array, Message] | undefined>>();
  readonly #stats = { queries: 0, localAnswers: 0, cacheHits: 0, forwarded: 0, coalesced: 0, failures: 0, rejected: 0, dropped: 0 };

  constructor(opts: DnsForwarderOptions = {}) {
    this.#opts = opts;
    this.#transport = opts.transport ?? nodeDnsTransport();
    this.#now = opts.now ?? (() => performance.now());
    this.#cache = new DnsCache(opts.cacheSize ?? 1024);
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#maxInFlight = opts.maxInFlight ?? 256;
    this.#localTtl = opts.localTtl ?? 0;
    this.#maxUdpPayload = Math.max(512, opts.maxUdpPayload ?? 1232);
    this.#upstreams = opts.upstreams?.slice();
    this.#local = this.#builtins();
  }

  /**
   * Answers one DNS message from a guest: the response (same id, same
   * question), or undefined to drop it. Never rejects.
   */
  async handle(message: Uint8Array, proto: 'udp' | 'tcp'): Promise<Uint8Array | undefined> {
    this.#stats.queries++;
    try {
      return await this.#handle(message, proto);
    } catch {
      // Unreachable by design; a bug here must not take the stack down.
      this.#stats.dropped++;
      return undefined;
    }
  }

  async #handle(message: Uint8Array, proto: 'udp' | 'tcp'): Promise<Uint8Array | undefined> {
    const header = readHeader(message);
    // Without a whole header there is no id to answer to; a response is never answered (no loops).
    if (header === undefined || isResponse(header) || this.#closed.signal.aborted) {
      this.#stats.dropped++;
      return undefined;
    }
    if (opcodeOf(header) !== 0) {
      this.#stats.rejected++;
      return buildResponse(message, undefined, Rcode.NotImp);
    }
    let query: Message;
    try {
      query = parseMessage(message);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
      this.#stats.rejected++;
      return buildResponse(message, undefined, Rcode.FormErr);
    }
    const q = query.question;
    const limit = Math.min(udpLimit(query), this.#maxUdpPayload);
    const fit = (r: Uint8Array): Uint8Array => (proto === 'udp' && r.length > limit ? truncate(r, q) : r);

    await this.#maybeReloadHosts();
    const local = this.#answerLocal(message, q);
    if (local !== undefined) {
      this.#stats.localAnswers++;
      return fit(local);
    }

    // EDNS presence and the DO bit change what the answer holds (OPT, RRSIGs), so they are part of the key.
    const opt = query.records.find((r) => r.type === TYPE_OPT && r.section === 'additional');
    const edns = opt === undefined ? 0 : (opt.ttl & 0x8000) !== 0 ? 2 : 1;
    const key = `${cacheKey(q.name, q.type, q.class)}|${edns}`;
    const cached = this.#cache.get(key, this.#now());
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      setId(cached, header.id);
      // Echo the guest's own spelling of the name (0x20 case mixing) when it is laid out the same.
      if (readQuestion(cached, HEADER_LEN).end === q.end) cached.set(message.subarray(q.start, q.end), q.start);
      return fit(cached);
    }

    // A guest retransmitting while the first try is still out waits for the same answer.
    const pendingKey = `${key}|${proto}`;
    let pending = this.#pending.get(pendingKey);
    if (pending !== undefined) {
      this.#stats.coalesced++;
    } else {
      if (this.#inFlight >= this.#maxInFlight) {
        this.#stats.failures++;
        return buildResponse(message, q, Rcode.ServFail);
      }
      this.#stats.forwarded++;
      this.#inFlight++;
      pending = this.#forward(message, q, proto).finally(() => {
        this.#inFlight--;
        this.#pending.delete(pendingKey);
      });
      this.#pending.set(pendingKey, pending);
      void pending.then((answer) => {
        if (answer !== undefined && !isTruncated(answer[1].header)) this.#cache.put(key, answer[0], answer[1], this.#now());
      }, () => undefined);
    }
    const answer = await pending;
    if (answer === undefined) {
      if (this.#closed.signal.aborted) {
        this.#stats.dropped++;
        return undefined;
      }
      this.#stats.failures++;
      return buildResponse(message, q, Rcode.ServFail);
    }
    const [bytes, parsed] = answer;
    if (rcodeOf(parsed.header) === Rcode.ServFail) this.#stats.failures++;
    const out = bytes.slice();
    setId(out, header.id);
    // Echo the guest's own spelling of the name when it is laid out the same.
    if (parsed.question.end === q.end) out.set(message.subarray(q.start, q.end), q.start);
    return fit(out);
  }

  /** Tries each upstream in turn, starting with the one that answered last. */
  async #forward(query: Uint8Array, q: Question, proto: 'udp' | 'tcp'): Promise<[Uint8Array, Message] | undefined> {
    const upstreams = await this.#getUpstreams();
    let lastFailure: [Uint8Array, Message] | undefined;
    for (let i = 0; i < upstreams.length && !this.#closed.signal.aborted; i++) {
      const index = (this.#preferred + i) % upstreams.length;
      const server = upstreams[index]!; // index < upstreams.length
      const out = query.slice();
      const id = randomInt(0x10000);
      setId(out, id);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
      const onClose = (): void => timeout.abort();
      this.#closed.signal.addEventListener('abort', onClose, { once: true });
      let response: Uint8Array;
      try {
        response = await this.#transport.query(server, out, proto, timeout.signal);
      } catch {
        continue;
      } finally {
        clearTimeout(timer);
        this.#closed.signal.removeEventListener('abort', onClose);
      }
      let parsed: Message;
      try {
        parsed = parseMessage(response);
      } catch {
        continue;
      }
      // RFC 5452 §9.1: accept only a response to this query.
      const rq = parsed.question;
      if (parsed.header.id !== id || !isResponse(parsed.header) || rq.name !== q.name || rq.type !== q.type || rq.class !== q.class) continue;
      const rcode = rcodeOf(parsed.header);
      if (rcode === Rcode.ServFail || rcode === Rcode.Refused || rcode === Rcode.NotImp) {
        lastFailure = [response, parsed];
        continue;
      }
      this.#preferred = index;
      return [response, parsed];
    }
    return lastFailure;
  }

  #answerLocal(query: Uint8Array, q: Question): Uint8Array | undefined {
    if (q.class !== CLASS_IN) return undefined;
    if (q.type === TYPE_PTR) {
      const target = this.#local.reverse(q.name);
      if (target === undefined) return undefined;
      return buildResponse(query, q, Rcode.NoError, {
        authoritative: true,
        answers: [{ type: TYPE_PTR, ttl: this.#localTtl, rdata: encodeName(target) }],
      });
    }
    const entry = this.#local.lookup(q.name);
    if (entry === undefined) return undefined;
    const answers: AnswerRecord[] = [];
    if (q.type === TYPE_A || q.type === TYPE_ANY) for (const a of entry.v4) answers.push({ type: TYPE_A, ttl: this.#localTtl, rdata: a });
    if (q.type === TYPE_AAAA || q.type === TYPE_ANY) for (const a of entry.v6) answers.push({ type: TYPE_AAAA, ttl: this.#localTtl, rdata: a });
    return buildResponse(query, q, Rcode.NoError, { authoritative: true, answers });
  }

  #builtins(): LocalNames {
    const names = new LocalNames();
    for (const [name, addrs] of Object.entries(this.#opts.names ?? {})) for (const a of addrs) names.add(name, a);
    return names;
  }

  async #getUpstreams(): Promise<DnsServerAddress[]> {
    if (this.#upstreams !== undefined) return this.#upstreams;
    this.#upstreamsLoading ??= (async () => {
      let list: DnsServerAddress[] = [];
      try {
        list = parseResolvConf(await readFile(this.#opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8'));
      } catch {
        // No resolv.conf: no upstreams, every forwarded query gets SERVFAIL.
      }
      this.#upstreams = list;
    })();
    await this.#upstreamsLoading;
    return this.#upstreams ?? [];
  }

  /** The upstreams in use (reading resolv.conf if it has not been read). */
  upstreams(): Promise<DnsServerAddress[]> {
    return this.#getUpstreams().then((l) => l.slice());
  }

  async #maybeReloadHosts(): Promise<void> {
    if (this.#opts.hosts === undefined) return;
    const now = this.#now();
    if (this.#hostsLoading === undefined && now - this.#hostsCheckedAt < HOSTS_CHECK_INTERVAL_MS) return;
    if (this.#hostsLoading === undefined) {
      this.#hostsCheckedAt = now;
      this.#hostsLoading = this.#reloadIfChanged().finally(() => (this.#hostsLoading = undefined));
    }
    await this.#hostsLoading;
  }

  async #reloadIfChanged(force = false): Promise<void> {
    const path = this.#opts.hosts;
    if (path === undefined) return;
    let mtime: number;
    try {
      mtime = (await stat(path)).mtimeMs;
    } catch {
      // The file went away: only the built-in names are left.
      if (this.#hostsMtime !== -1) this.#local = this.#builtins();
      this.#hostsMtime = -1;
      return;
    }
    if (!force && mtime === this.#hostsMtime) return;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    const table = this.#builtins();
    const builtin = new Set(Object.keys(this.#opts.names ?? {}).map(normalizeName));
    parseHosts(text, table, (name) => builtin.has(name));
    this.#local = table;
    this.#hostsMtime = mtime;
  }

  /** Re-reads the hosts file now. */
  async reload(): Promise<void> {
    this.#hostsCheckedAt = this.#now();
    await this.#reloadIfChanged(true);
  }

  stats(): DnsForwarderStats {
    return { ...this.#stats, inFlight: this.#inFlight };
  }

  /** Aborts queries in flight (they are dropped) and drops every later message. */
  close(): void {
    this.#closed.abort();
    this.#cache.clear();
  }
}

