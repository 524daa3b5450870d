import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsTransportError, nodeDnsTransport } from './upstream.js';
import { TestUpstream, decode, query } from './upstream.fixture.js';

let up: TestUpstream;
beforeAll(async () => {
  up = await TestUpstream.start();
});
afterAll(() => up.close());

describe('nodeDnsTransport', () => {
  const t = nodeDnsTransport();

  for (const proto of ['udp', 'tcp'] as const) {
    it(`asks over ${proto} and returns the response with the query's id`, async () => {
      up.behaviour = 'answer';
      const addr = proto === 'udp' ? up.address : up.tcpAddress;
      const r = await t.query(addr, query('a.example.test', 'A', { id: 0x7777 }), proto, AbortSignal.timeout(2000));
      expect(decode(r).id).toBe(0x7777);
      expect(decode(r).answers?.map((a) => a.data)).toEqual(['10.0.0.1']);
    });

    it(`ignores a response with another id over ${proto} until aborted`, async () => {
      up.behaviour = 'wrong-id';
      const addr = proto === 'udp' ? up.address : up.tcpAddress;
      const before = up.queries;
      const p = t.query(addr, query('a.example.test', 'A'), proto, AbortSignal.timeout(150));
      await expect(p).rejects.toBeInstanceOf(DnsTransportError);
      expect(up.queries).toBe(before + 1);
      up.behaviour = 'answer';
    });
  }

  it('rejects at once when the signal is already aborted', async () => {
    await expect(t.query(up.address, query('a.example.test', 'A'), 'udp', AbortSignal.abort())).rejects.toMatchObject({
      code: 'EDNSABORT',
    });
  });

  it('rejects when a TCP upstream closes before answering', async () => {
    const srv = createServer((c) => c.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await expect(
      t.query({ host: '127.0.0.1', port }, query('a.example.test', 'A'), 'tcp', AbortSignal.timeout(2000)),
    ).rejects.toBeInstanceOf(DnsTransportError);
    srv.close();
  });

  it('rejects when a TCP upstream refuses the connection', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expect(
      t.query({ host: '127.0.0.1', port }, query('a.example.test', 'A'), 'tcp', AbortSignal.timeout(2000)),
    ).rejects.toMatchObject({ code: 'EDNSSOCKET' });
  });
});
