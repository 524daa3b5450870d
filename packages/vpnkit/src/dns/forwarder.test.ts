import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DnsForwarder, type DnsForwarderOptions } from './forwarder.js';
import type { DnsServerAddress, DnsTransport } from './transport.js';
import { BIG_TXT, TestUpstream, decode, query } from './upstream.fixture.js';

let up: TestUpstream;
let up2: TestUpstream;
let dir: string;
let clock = 0;
const now = (): number => clock;

beforeAll(async () => {
  up = await TestUpstream.start();
  up2 = await TestUpstream.start();
  dir = await mkdtemp(join(tmpdir(), 'vpnkit-dns-'));
});
afterAll(async () => {
  await up.close();
  await up2.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  up.queries = 0;
  up2.queries = 0;
  up.behaviour = 'answer';
  up2.behaviour = 'answer';
  clock = 0;
});

const forwarder = (opts: DnsForwarderOptions = {}): DnsForwarder =>
  new DnsForwarder({ upstreams: [up.address], resolvConfPath: '/nonexistent', now, timeoutMs: 500, ...opts });

async function ask(f: DnsForwarder, name: string, type: string, proto: 'udp' | 'tcp' = 'udp', id = 0x1234) {
  const r = await f.handle(query(name, type, { id }), proto);
  expect(r).toBeDefined();
  return decode(r!);
}

describe('local names', () => {
  const HOSTS = [
    '# a comment line',
    '127.0.0.1   localhost',
    '10.1.2.3    web.local  Alias.Local   # trailing comment',
    '10.1.2.4    web.local',
    'fd00::5     six.local web.local',
    '::ffff:1.2.3.4 mapped.local',
    'not-an-address junk.local',
    '10.9.9.9',
    '',
  ].join('\n');

  it('answers A and AAAA from the hosts file, case-insensitively, ignoring comments and junk', async () => {
    const path = join(dir, 'hosts1');
    await writeFile(path, HOSTS);
    const f = forwarder({ hosts: path });
    const a = await ask(f, 'WEB.Local', 'A');
    expect(a.id).toBe(0x1234);
    expect(a.rcode).toBe('NOERROR');
    expect(a.questions).toEqual([{ name: 'WEB.Local', type: 'A', class: 'IN' }]);
    expect(a.answers?.map((r) => r.data)).toEqual(['10.1.2.3', '10.1.2.4']);
    expect(a.answers?.[0]?.ttl).toBe(0);
    const aaaa = await ask(f, 'web.local.', 'AAAA');
    expect(aaaa.answers?.map((r) => r.data)).toEqual(['fd00::5']);
    expect((await ask(f, 'alias.local', 'A')).answers?.map((r) => r.data)).toEqual(['10.1.2.3']);
    expect((await ask(f, 'mapped.local', 'AAAA')).answers?.map((r) => r.data)).toEqual(['::ffff:102:304']);
    // 'junk.local' came from a line without a valid address: forwarded, NXDOMAIN upstream.
    expect((await ask(f, 'junk.local', 'A')).rcode).toBe('NXDOMAIN');
    expect(up.queries).toBe(1);
    expect(f.stats().localAnswers).toBe(4);
  });

  it('answers NODATA, not NXDOMAIN, for the other type of a known name', async () => {
    const path = join(dir, 'hosts2');
    await writeFile(path, HOSTS);
    const f = forwarder({ hosts: path });
    for (const type of ['AAAA', 'MX', 'TXT']) {
      const r = await ask(f, 'alias.local', type);
      expect(r.rcode).toBe('NOERROR');
      expect(r.answers).toEqual([]);
    }
    expect((await ask(f, 'six.local', 'A')).answers).toEqual([]);
    expect(up.queries).toBe(0);
  });

  it('answers built-in names, which win over the hosts file', async () => {
    const path = join(dir, 'hosts3');
    await writeFile(path, '10.7.7.7 gateway.docker.internal other.local\n');
    const f = forwarder({
      hosts: path,
      localTtl: 30,
      names: { 'Host.Docker.Internal.': ['192.168.65.2'], 'gateway.docker.internal': ['192.168.65.1'] },
    });
    const r = await ask(f, 'host.docker.internal', 'A');
    expect(r.answers).toEqual([expect.objectContaining({ type: 'A', data: '192.168.65.2', ttl: 30 })]);
    expect(r.flags! & 0x0400).toBe(0x0400); // AA
    const nodata = await ask(f, 'HOST.docker.internal', 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect((await ask(f, 'gateway.docker.internal', 'A')).answers?.map((x) => x.data)).toEqual(['192.168.65.1']);
    expect((await ask(f, 'other.local', 'A')).answers?.map((x) => x.data)).toEqual(['10.7.7.7']);
    expect(up.queries).toBe(0);
  });

  it('answers PTR for local addresses', async () => {
    const f = forwarder({ names: { 'host.docker.internal': ['192.168.65.2', 'fd00::2'] } });
    const r = await ask(f, '2.65.168.192.in-addr.arpa', 'PTR');
    expect(r.answers?.map((x) => x.data)).toEqual(['host.docker.internal']);
    const r6 = await ask(f, `2${'.0'.repeat(29)}.d.f.ip6.arpa`, 'PTR');
    expect(r6.answers?.map((x) => x.data)).toEqual(['host.docker.internal']);
  });

  it('reloads the hosts file when its mtime changes, at most once a second', async () => {
    const path = join(dir, 'hosts4');
    await writeFile(path, '10.0.0.1 x.local\n');
    const f = forwarder({ hosts: path });
    expect((await ask(f, 'x.local', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    await writeFile(path, '10.0.0.2 x.local\n');
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    clock = 500; // not yet checked again
    expect((await ask(f, 'x.local', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    clock = 1500;
    expect((await ask(f, 'x.local', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.2']);
    await writeFile(path, '10.0.0.3 x.local\n');
    await f.reload();
    expect((await ask(f, 'x.local', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.3']);
  });
});

describe('forwarding', () => {
  it('forwards A, AAAA, TXT and MX and returns the guest id', async () => {
    const f = forwarder();
    const a = await ask(f, 'a.example.test', 'A', 'udp', 0xbeef);
    expect(a.id).toBe(0xbeef);
    expect(a.answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect((await ask(f, 'a.example.test', 'AAAA')).answers?.map((r) => r.data)).toEqual(['2001:db8::1']);
    expect((await ask(f, 'a.example.test', 'TXT')).answers?.map((r) => r.data)).toEqual([[Buffer.from('hello')]]);
    expect((await ask(f, 'a.example.test', 'MX')).answers?.map((r) => r.data)).toEqual([
      { preference: 10, exchange: 'mail.example.test' },
    ]);
    expect(up.queries).toBe(4);
    expect(f.stats()).toMatchObject({ forwarded: 4, failures: 0 });
  });

  it('forwards over TCP', async () => {
    const f = forwarder();
    expect((await ask(f, 'a.example.test', 'A', 'tcp')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
  });

  it('answers SERVFAIL when there are no upstreams', async () => {
    const f = new DnsForwarder({ resolvConfPath: join(dir, 'missing'), now });
    const r = await ask(f, 'a.example.test', 'A');
    expect(r.rcode).toBe('SERVFAIL');
    expect(r.questions?.[0]?.name).toBe('a.example.test');
  });

  it('reads its upstreams from resolv.conf', async () => {
    const path = join(dir, 'resolv.conf');
    await writeFile(path, 'search example.com\nnameserver 127.0.0.1\noptions ndots:5\n');
    const f = new DnsForwarder({ resolvConfPath: path });
    expect(await f.upstreams()).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });
});

describe('cache', () => {
  it('answers a repeated query from the cache with aged TTLs, and forgets it after the TTL', async () => {
    const f = forwarder();
    expect((await ask(f, 'a.example.test', 'A')).answers?.[0]?.ttl).toBe(300);
    clock = 100_500;
    const hit = await ask(f, 'A.EXAMPLE.test', 'A', 'udp', 7);
    expect(up.queries).toBe(1);
    expect(hit.id).toBe(7);
    expect(hit.questions?.[0]?.name).toBe('A.EXAMPLE.test');
    expect(hit.answers?.[0]?.ttl).toBe(200);
    clock = 300_000;
    await ask(f, 'a.example.test', 'A');
    expect(up.queries).toBe(2);
    expect(f.stats().cacheHits).toBe(1);
  });

  it('keeps EDNS and plain answers apart', async () => {
    const f = forwarder();
    await f.handle(query('a.example.test', 'A', { udpPayloadSize: 1232 }), 'udp');
    const plain = await ask(f, 'a.example.test', 'A');
    expect(plain.additionals).toEqual([]);
    expect(up.queries).toBe(2);
  });

  it('keeps a short-TTL answer only for its TTL', async () => {
    const f = forwarder();
    await ask(f, 'short.example.test', 'A');
    clock = 4999;
    await ask(f, 'short.example.test', 'A');
    expect(up.queries).toBe(1);
    clock = 5000;
    await ask(f, 'short.example.test', 'A');
    expect(up.queries).toBe(2);
  });

  it('caches NXDOMAIN and NODATA for the SOA minimum (RFC 2308)', async () => {
    const f = forwarder();
    expect((await ask(f, 'nope.example.test', 'A')).rcode).toBe('NXDOMAIN');
    expect((await ask(f, 'short.example.test', 'AAAA')).answers).toEqual([]);
    clock = 29_000;
    expect((await ask(f, 'nope.example.test', 'A')).rcode).toBe('NXDOMAIN');
    const nodata = await ask(f, 'short.example.test', 'AAAA');
    expect(nodata.authorities?.[0]?.ttl).toBe(300 - 29);
    expect(up.queries).toBe(2);
    clock = 30_000;
    await ask(f, 'nope.example.test', 'A');
    expect(up.queries).toBe(3);
  });

  it('evicts the least recently used entry beyond cacheSize', async () => {
    const f = forwarder({ cacheSize: 2 });
    await ask(f, 'a.example.test', 'A');
    await ask(f, 'a.example.test', 'AAAA');
    await ask(f, 'a.example.test', 'A'); // hit: AAAA is now the oldest
    await ask(f, 'a.example.test', 'TXT');
    expect(up.queries).toBe(3);
    await ask(f, 'a.example.test', 'A');
    expect(up.queries).toBe(3);
    await ask(f, 'a.example.test', 'AAAA');
    expect(up.queries).toBe(4);
  });

  it('does not cache SERVFAIL', async () => {
    const f = forwarder();
    up.behaviour = 'servfail';
    expect((await ask(f, 'a.example.test', 'A')).rcode).toBe('SERVFAIL');
    up.behaviour = 'answer';
    expect((await ask(f, 'a.example.test', 'A')).rcode).toBe('NOERROR');
  });
});

describe('failover', () => {
  it('moves to the next upstream when the first port is dead, then prefers the one that answered', async () => {
    const dead = createSocket('udp4');
    await new Promise<void>((r) => dead.bind(0, '127.0.0.1', r));
    const deadAddr: DnsServerAddress = { host: '127.0.0.1', port: dead.address().port };
    dead.close(); // nothing listens there now: ICMP port unreachable or silence
    const f = forwarder({ upstreams: [deadAddr, up2.address], timeoutMs: 300 });
    expect((await ask(f, 'a.example.test', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(up2.queries).toBe(1);
    expect((await ask(f, 'a.example.test', 'AAAA')).rcode).toBe('NOERROR');
    expect(up2.queries).toBe(2);
  });

  it('times out a silent upstream and asks the next', async () => {
    up.behaviour = 'silent';
    const f = forwarder({ upstreams: [up.address, up2.address], timeoutMs: 200 });
    const t0 = performance.now();
    expect((await ask(f, 'a.example.test', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    expect(up.queries).toBe(1);
    expect(up2.queries).toBe(1);
  });

  it('moves on after SERVFAIL, and answers SERVFAIL when all fail', async () => {
    up.behaviour = 'servfail';
    const f = forwarder({ upstreams: [up.address, up2.address] });
    expect((await ask(f, 'a.example.test', 'A')).rcode).toBe('NOERROR');
    up2.behaviour = 'servfail';
    expect((await ask(f, 'a.example.test', 'MX')).rcode).toBe('SERVFAIL');
    expect(f.stats().failures).toBe(1);
  });

  it('ignores a response whose id does not match', async () => {
    up.behaviour = 'wrong-id';
    const f = forwarder({ upstreams: [up.address, up2.address], timeoutMs: 200 });
    expect((await ask(f, 'a.example.test', 'A')).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(up2.queries).toBe(1);
  });

  it('ignores a response whose question does not match', async () => {
    const liar: DnsTransport = {
      query: async (_s, m) => {
        const d = decode(m);
        // Answers a different question, with the right id.
        const q = query('other.example.test', 'A', { id: d.id ?? 0 });
        q[2] = 0x81; // QR
        return q;
      },
    };
    const f = forwarder({ transport: liar });
    expect((await ask(f, 'a.example.test', 'A')).rcode).toBe('SERVFAIL');
  });
});

describe('truncation', () => {
  it('sets TC over UDP when the answer exceeds 512 bytes, and gives the whole answer over TCP', async () => {
    const f = forwarder();
    const udp = await f.handle(query('big.example.test', 'TXT'), 'udp');
    expect(udp!.length).toBeLessThanOrEqual(512);
    const d = decode(udp!);
    expect(d.flags! & 0x0200).toBe(0x0200);
    expect(d.answers).toEqual([]);
    expect(d.questions?.[0]?.name).toBe('big.example.test');
    const tcp = await ask(f, 'big.example.test', 'TXT', 'tcp');
    expect(tcp.flags! & 0x0200).toBe(0);
    expect((tcp.answers?.[0]?.data as Buffer[]).map((b) => b.toString())).toEqual(BIG_TXT);
  });

  it("respects the client's EDNS0 payload size", async () => {
    const big = query('big.example.test', 'TXT', { udpPayloadSize: 4096 });
    const f = forwarder({ maxUdpPayload: 4096 });
    expect(decode((await f.handle(big, 'udp'))!).answers?.length).toBe(1);
    // By default no UDP answer exceeds 1232 bytes, whatever the client offers.
    const g = forwarder();
    const r = await g.handle(big, 'udp');
    expect(decode(r!).flags! & 0x0200).toBe(0x0200);
    expect(r!.length).toBeLessThanOrEqual(1232);
  });
});

describe('malformed input', () => {
  const f = new DnsForwarder({ upstreams: [], resolvConfPath: '/nonexistent' });
  const header = (id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Uint8Array =>
    Uint8Array.from([id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar].map((x, i) => (i === 4 ? qd >> 8 : i === 5 ? qd & 0xff : x)));

  it('drops messages shorter than a header', async () => {
    expect(await f.handle(new Uint8Array(0), 'udp')).toBeUndefined();
    expect(await f.handle(Uint8Array.from([1, 2, 3]), 'udp')).toBeUndefined();
  });

  it('answers FORMERR to qdcount 0 and a huge qdcount', async () => {
    for (const qd of [0, 2, 0xffff]) {
      const r = await f.handle(header(0x4242, 0x0100, qd), 'udp');
      const d = decode(r!);
      expect(d.id).toBe(0x4242);
      expect(d.rcode).toBe('FORMERR');
    }
  });

  it('answers FORMERR to a question cut short and to a pointer loop', async () => {
    const q = query('a.example.test', 'A');
    expect(decode((await f.handle(q.subarray(0, q.length - 3), 'udp'))!).rcode).toBe('FORMERR');
    const loop = Uint8Array.from([...header(1, 0x0100, 1), 0xc0, 12, 0, 1, 0, 1]);
    expect(decode((await f.handle(loop, 'udp'))!).rcode).toBe('FORMERR');
    const huge = Uint8Array.from([...q, 0]);
    huge[11] = 200; // arcount 200, no records
    expect(decode((await f.handle(huge, 'udp'))!).rcode).toBe('FORMERR');
  });

  it('answers NOTIMP to other opcodes and drops responses', async () => {
    const q = query('a.example.test', 'A');
    q[2] = (q[2]! & 0x87) | (2 << 3); // opcode STATUS
    expect(decode((await f.handle(q, 'udp'))!).rcode).toBe('NOTIMP');
    const resp = query('a.example.test', 'A');
    resp[2] = resp[2]! | 0x80;
    expect(await f.handle(resp, 'udp')).toBeUndefined();
  });

  it('never throws on random bytes', async () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed & 0xff);
    const g = forwarder({ transport: { query: () => Promise.reject(new Error('no')) } });
    for (let i = 0; i < 2000; i++) {
      const m = Uint8Array.from({ length: rand() % 64 }, rand);
      if (m.length > 2) m[2] = m[2]! & 0x7f; // mostly queries, so parsing goes deep
      const r = await g.handle(m, i % 2 ? 'udp' : 'tcp');
      if (r !== undefined) expect(r.length).toBeGreaterThanOrEqual(12);
    }
  });
});

describe('bounds', () => {
  it('answers SERVFAIL beyond maxInFlight', async () => {
    const pending: (() => void)[] = [];
    const hold: DnsTransport = {
      query: (_s, m, _p, signal) =>
        new Promise((resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')));
          pending.push(() => {
            const r = m.slice();
            r[2] = r[2]! | 0x80;
            resolve(r);
          });
        }),
    };
    const f = forwarder({ transport: hold, maxInFlight: 2, timeoutMs: 5000 });
    const a = f.handle(query('a.example.test', 'A'), 'udp');
    const b = f.handle(query('a.example.test', 'AAAA'), 'udp');
    const c = await f.handle(query('a.example.test', 'MX'), 'udp');
    expect(decode(c!).rcode).toBe('SERVFAIL');
    expect(f.stats().inFlight).toBe(2);
    await new Promise((r) => setTimeout(r, 10));
    pending.forEach((p) => p());
    expect(decode((await a)!).rcode).toBe('NOERROR');
    expect(decode((await b)!).rcode).toBe('NOERROR');
    expect(f.stats().inFlight).toBe(0);
  });

  it('drops queries in flight on close', async () => {
    up.behaviour = 'silent';
    const f = forwarder({ timeoutMs: 5000 });
    const p = f.handle(query('a.example.test', 'A'), 'udp');
    await new Promise((r) => setTimeout(r, 20));
    f.close();
    expect(await p).toBeUndefined();
    expect(await f.handle(query('a.example.test', 'A'), 'udp')).toBeUndefined();
  });
});

describe('a real resolver client', () => {
  const dig = '/usr/bin/dig';
  // busybox nslookup takes no port, so this uses dig when it is installed.
  it.skipIf(!existsSync(dig))('dig resolves through the forwarder on a loopback UDP socket', async () => {
    const f = forwarder({ names: { 'host.docker.internal': ['192.168.65.2'] } });
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      void f.handle(new Uint8Array(msg), 'udp').then((r) => r && sock.send(r, rinfo.port, rinfo.address));
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    const run = (name: string, type: string): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile(dig, ['-p', String(port), '@127.0.0.1', name, type, '+short', '+tries=1', '+time=2'], (e, out) =>
          e ? reject(e) : resolve(out.trim()),
        ),
      );
    try {
      expect(await run('host.docker.internal', 'A')).toBe('192.168.65.2');
      expect(await run('a.example.test', 'MX')).toBe('10 mail.example.test.');
      expect(await run('a.example.test', 'TXT')).toBe('"hello"');
    } finally {
      sock.close();
    }
  });
});

describe('coalescing', () => {
  it('sends one upstream query for identical queries in flight', async () => {
    up.behaviour = 'slow';
    up.delayMs = 100;
    const f = forwarder();
    const [a, b] = await Promise.all([
      f.handle(query('a.example.test', 'A', { id: 1 }), 'udp'),
      f.handle(query('A.example.TEST', 'A', { id: 2 }), 'udp'),
    ]);
    expect(decode(a!).id).toBe(1);
    expect(decode(b!).id).toBe(2);
    expect(decode(b!).questions?.[0]?.name).toBe('A.example.TEST');
    expect(decode(b!).answers?.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(up.queries).toBe(1);
    expect(f.stats()).toMatchObject({ forwarded: 1, coalesced: 1 });
  });
});
