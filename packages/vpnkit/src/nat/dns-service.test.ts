/**
 * The gateway's DNS-over-TCP session (RFC 7766 framing) as a stream:
 * answers pair with queries, split and coalesced segments parse alike,
 * memory stays bounded when the guest stops reading, idle sessions close.
 */
import { describe, expect, it } from 'vitest';
import { dnsTcpService, type DnsHandler, type DnsTcpSession } from './dns-service.js';

/** A resolver that answers each query with `size` bytes starting with the query's first two (the id). */
function echoResolver(size = 100): DnsHandler & { asked: number } {
  const h = {
    asked: 0,
    handle(message: Uint8Array): Promise<Uint8Array | undefined> {
      h.asked++;
      const r = new Uint8Array(size);
      r.set(message.subarray(0, Math.min(2, message.length)));
      return Promise.resolve(r);
    },
  };
  return h;
}

function framed(id: number, len = 30): Buffer {
  const b = Buffer.alloc(2 + len);
  b.writeUInt16BE(len, 0);
  b.writeUInt16BE(id, 2);
  return b;
}

/** Read answers off `s` until `n` have come; returns their ids. */
function readAnswers(s: DnsTcpSession, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const ids: number[] = [];
    s.on('error', reject);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        ids.push(buf.readUInt16BE(2));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (ids.length >= n) resolve(ids);
    });
  });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DnsTcpSession', () => {
  it('answers queries split across writes one byte at a time and coalesced into one write', async () => {
    const dns = echoResolver();
    const s = dnsTcpService(dns, { idleMs: 0 })() as DnsTcpSession;
    const got = readAnswers(s, 6);
    const whole = Buffer.concat([framed(1), framed(2), framed(3)]);
    for (const byte of whole) s.write(Buffer.of(byte));
    s.write(Buffer.concat([framed(4), framed(5), framed(6, 0xffff)]));
    expect((await got).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(dns.asked).toBe(6);
    s.destroy();
  });

  it('ends its side after the guest half-closes and the last answer is sent', async () => {
    const s = dnsTcpService(echoResolver(), { idleMs: 0 })() as DnsTcpSession;
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => s.on('end', () => r()));
    s.end(Buffer.concat([framed(7), framed(8)]));
    await ended;
    expect(Buffer.concat(chunks).length).toBe(2 * (2 + 100));
  });

  it('holds the write side while the guest reads no answers: memory stays bounded', async () => {
    const dns = echoResolver(500);
    const s = dnsTcpService(dns, { idleMs: 0 })() as DnsTcpSession;
    // Nobody reads `s`.  Offer 200,000 queries as the TCP NAT would: write until refused, then wait for 'drain'.
    let offered = 0;
    let drains = 0;
    let refused = false;
    s.on('drain', () => {
      drains++;
      refused = false;
    });
    const batch = Buffer.concat(Array.from({ length: 100 }, (_, i) => framed(i)));
    for (let round = 0; round < 50 && offered < 200_000; round++) {
      while (!refused && offered < 200_000) {
        refused = !s.write(batch);
        offered += 100;
      }
      await tick();
      await tick();
    }
    const { inFlight, queuedBytes } = s.pending;
    // Before the fix every query was taken and answered into an unbounded read queue (102.8 MB for 200,000).
    expect(dns.asked).toBeLessThan(200);
    expect(queuedBytes).toBeLessThanOrEqual(s.readableHighWaterMark + 16 * 502);
    expect(inFlight).toBeLessThanOrEqual(16);
    expect(s.writableLength).toBeLessThanOrEqual(s.writableHighWaterMark + batch.length);
    expect(refused).toBe(true);
    expect(drains).toBe(0);
    expect(offered).toBeLessThan(1000);
    // The guest opens its window: everything offered is answered.
    const ids = await readAnswers(s, offered);
    expect(ids.length).toBe(offered);
    expect(dns.asked).toBe(offered);
    expect(drains).toBeGreaterThan(0);
    s.destroy();
  });

  it('closes a session with nothing in flight after idleMs without input, and drops what comes later', async () => {
    const s = dnsTcpService(echoResolver(), { idleMs: 50 })() as DnsTcpSession;
    const got = readAnswers(s, 1);
    s.write(framed(9));
    expect(await got).toEqual([9]);
    const ended = new Promise<number>((r) => {
      const t0 = Date.now();
      s.on('end', () => r(Date.now() - t0));
    });
    expect(await ended).toBeGreaterThanOrEqual(40);
    // Late input is read (the guest is not blocked) and answers nothing.
    await new Promise<void>((r) => s.write(framed(10), () => r()));
    s.destroy();
  });

  it('a stalled partial query does not keep a session open', async () => {
    const s = dnsTcpService(echoResolver(), { idleMs: 50 })() as DnsTcpSession;
    s.resume();
    const ended = new Promise<void>((r) => s.on('end', () => r()));
    s.write(Buffer.of(0x01)); // half a length, then nothing
    await ended;
    s.destroy();
  });

  it('rejects a bad idleMs', () => {
    expect(() => dnsTcpService(echoResolver(), { idleMs: -1 })).toThrow(/idleMs/);
    expect(() => dnsTcpService(echoResolver(), { idleMs: 1.5 })).toThrow(/idleMs/);
  });
});
