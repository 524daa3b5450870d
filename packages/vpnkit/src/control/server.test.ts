import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../stack/stack.js';
import { ControlServer } from './server.js';

function call(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('port-control API (HTTP/JSON on a Unix socket)', () => {
  let dir: string;
  let sock: string;
  let stack: Stack;
  let control: ControlServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpnkit-control-'));
    sock = join(dir, 'port.sock');
    stack = new Stack({});
    stack.start();
    control = new ControlServer(stack);
    await control.listen(sock);
  });

  afterAll(async () => {
    await control.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens owner-only', () => {
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('exposes, lists and unexposes; the host port opens and closes with it', async () => {
    expect(await call(sock, 'GET', '/forwards')).toEqual({ status: 200, json: [] });
    const r = await call(sock, 'POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 0, guestIp: '192.168.65.3', guestPort: 80 }));
    expect(r.status).toBe(201);
    const f = r.json as { id: string; hostPort: number; hostIp: string };
    expect(f).toMatchObject({ proto: 'tcp', hostIp: '127.0.0.1', guestIp: '192.168.65.3', guestPort: 80 });
    expect(f.hostPort).toBeGreaterThan(0);
    expect((await call(sock, 'GET', '/forwards')).json).toEqual([f]);
    // Something listens there now.
    const connected = await new Promise<boolean>((res) => {
      const s = net.connect(f.hostPort, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    expect(connected).toBe(true);
    // The same port twice is refused.
    const dup = await call(sock, 'POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: f.hostPort, guestIp: '192.168.65.3', guestPort: 81 }));
    expect(dup.status).toBe(409);
    expect(await call(sock, 'DELETE', `/forwards/${encodeURIComponent(f.id)}`)).toEqual({ status: 204, json: undefined });
    expect((await call(sock, 'GET', '/forwards')).json).toEqual([]);
    const refused = await new Promise<string>((res) => {
      const s = net.connect(f.hostPort, '127.0.0.1');
      s.on('connect', () => res('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? ''));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect((await call(sock, 'DELETE', `/forwards/${encodeURIComponent(f.id)}`)).status).toBe(404);
  });

  it('UDP forwards bind and unbind', async () => {
    const r = await call(sock, 'POST', '/forwards', JSON.stringify({ proto: 'udp', hostPort: 0, guestIp: '192.168.65.3', guestPort: 53 }));
    expect(r.status).toBe(201);
    const f = r.json as { id: string };
    expect(f.id).toMatch(/^udp:127\.0\.0\.1:\d+$/);
    expect((await call(sock, 'DELETE', `/forwards/${encodeURIComponent(f.id)}`)).status).toBe(204);
  });

  it('exposes to an IPv6 guest (on ::1 by default) and unexposes by its bracketed id', async () => {
    const r = await call(sock, 'POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 0, guestIp: 'fd00:192:168:65::77', guestPort: 80 }));
    expect(r.status).toBe(201);
    const f = r.json as { id: string; hostIp: string; hostPort: number; guestIp: string };
    expect(f).toMatchObject({ hostIp: '::1', guestIp: 'fd00:192:168:65::77' });
    expect(f.id).toBe(`tcp:[::1]:${f.hostPort}`);
    // The listener is up on the host's ::1 (where the host has one).
    const reached = await new Promise<boolean>((res) => {
      const c = net.connect({ host: '::1', port: f.hostPort }, () => {
        c.destroy();
        res(true);
      });
      c.on('error', () => res(false));
    });
    expect(reached).toBe(true);
    expect((await call(sock, 'DELETE', `/forwards/${encodeURIComponent(f.id)}`)).status).toBe(204);
    const bad = await call(sock, 'POST', '/forwards', JSON.stringify({ proto: 'udp', hostPort: 0, guestIp: 'fd00:192:168:65::1', guestPort: 53 }));
    expect(bad).toMatchObject({ status: 400, json: { error: 'INVALID' } });
  });

  it('rejects bad requests with a clear error and keeps serving', async () => {
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['POST', '/forwards', '{not json', 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'sctp', hostPort: 1, guestIp: '192.168.65.3', guestPort: 1 }), 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 70000, guestIp: '192.168.65.3', guestPort: 1 }), 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 0, guestIp: '10.0.0.1', guestPort: 1 }), 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 0, guestIp: '192.168.65.1', guestPort: 1 }), 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'tcp', hostIp: 'nope', hostPort: 0, guestIp: '192.168.65.3', guestPort: 1 }), 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify({ proto: 'tcp', hostIp: '192.0.2.1', hostPort: 0, guestIp: '192.168.65.3', guestPort: 1 }), 409, 'LISTEN_FAILED'],
      ['POST', '/forwards', 'null', 400, 'INVALID'],
      ['POST', '/forwards', JSON.stringify('x'.repeat(20_000)), 400, 'INVALID'],
      ['PUT', '/forwards', '{}', 405, 'METHOD'],
      ['GET', '/nothing', undefined, 404, 'NOT_FOUND'],
      ['DELETE', '/forwards/%E0%A4%A', undefined, 400, 'INVALID'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(sock, method, path, body);
      expect([method, path, r.status, (r.json as { error?: string } | undefined)?.error]).toEqual([method, path, status, code]);
    }
    expect((await call(sock, 'GET', '/forwards')).json).toEqual([]);
    const stats = await call(sock, 'GET', '/stats');
    expect(stats.status).toBe(200);
    expect(stats.json).toHaveProperty('tcp');
  });
});
