import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Link } from '../switch/link.js';
import { QemuStreamServer } from './qemu.js';
import { VmnetServer } from './vmnet.js';
import { encodeCommand, encodeInit } from './vmnet-proto.js';

const dir = mkdtempSync(join(tmpdir(), 'vpnkit-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 7;
function rnd(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

async function blast(path: string, chunks: Buffer[]): Promise<void> {
  const s: Socket = connect(path);
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.once('connect', () => r()));
  for (const c of chunks) s.write(c);
  await new Promise((r) => setTimeout(r, 20));
  s.destroy();
}

describe('stream servers under hostile input', () => {
  it('QEMU server: random streams never crash it and every queue stays bounded', async () => {
    const path = join(dir, 'q.sock');
    const links: Link[] = [];
    const server = new QemuStreamServer((l) => links.push(l), { queueCapacity: 8, maxFrameSize: 1600 });
    await server.listen(path);
    for (let i = 0; i < 20; i++) {
      // Small lengths so some records parse, then garbage.
      const chunks = [Buffer.from([0, 0, 0, 60]), rnd(60), Buffer.from([0, 0, 0, 20]), rnd(20), rnd(200)];
      await blast(path, chunks);
    }
    // 1000 valid frames at once into a queue of 8: drops are counted, memory is not spent.
    const s = connect(path);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const rec = Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.alloc(60, 1)]);
    s.write(Buffer.concat(Array.from({ length: 1000 }, () => rec)));
    await new Promise((r) => setTimeout(r, 50));
    const last = links[links.length - 1];
    expect(last?.stats().rxFrames).toBe(8);
    expect(last?.stats().rxDropped).toBe(992);
    s.destroy();
    await server.close();
  });

  it('VMN3T server: garbage handshakes are refused, a good client still connects', async () => {
    const path = join(dir, 'v.sock');
    let good = 0;
    const server = new VmnetServer(() => good++, { handshakeMs: 200 });
    await server.listen(path);
    for (let i = 0; i < 20; i++) await blast(path, [rnd(10 + i * 13)]);
    await blast(path, [Buffer.from(encodeInit()), rnd(41)]); // valid init, garbage command
    // A client that stalls mid-handshake is cut off by the deadline.
    const stall = connect(path);
    stall.on('error', () => undefined);
    await new Promise<void>((r) => stall.once('connect', () => r()));
    stall.write(Buffer.from(encodeInit()).subarray(0, 10));
    await new Promise<void>((r) => stall.once('close', () => r()));
    await blast(path, [
      Buffer.from(encodeInit()),
      Buffer.from(encodeCommand({ kind: 'ethernet', uuid: '00000000-0000-4000-8000-000000000001' })),
    ]);
    expect(good).toBe(1);
    expect(server.handshakeFailures).toBeGreaterThanOrEqual(2);
    await server.close();
  });
});
