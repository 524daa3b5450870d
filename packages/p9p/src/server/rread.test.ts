// Rread frames read straight into (reused) reply buffers: whatever a client
// got must stay what the file held, however many reads follow it, over an
// in-memory pair (which hands the server's buffer itself to the client) and
// over a real socket (where the reply buffers are reused).
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { duplexPair } from '../channel/pair.js';
import { Session } from '../client/session.js';
import { LocalFs } from '../handlers/local.js';
import { dial, listen } from '../transport/dial.js';
import { serve } from './serve.js';
import type { ServerConnection } from './serve.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Four 600 KiB files, each with its own byte pattern. */
function tree(): { root: string; files: Map<string, Buffer> } {
  const base = mkdtempSync(join(tmpdir(), 'p9p-rread-'));
  const root = join(base, 'root');
  mkdirSync(root);
  const files = new Map<string, Buffer>();
  for (let k = 0; k < 4; k++) {
    const data = Buffer.alloc(600 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * (k + 3) + k * 91) & 0xff;
    writeFileSync(join(root, `f${k}`), data);
    files.set(`f${k}`, data);
  }
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  return { root, files };
}

async function readAllConcurrently(s: Session, files: Map<string, Buffer>): Promise<void> {
  const got: { name: string; data: Uint8Array }[] = [];
  // 24 whole-file reads in flight at once, 128 KiB Treads each; all results kept until the end.
  await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const name = `f${i % 4}`;
      got.push({ name, data: await s.readFile({ path: name }) });
    }),
  );
  // Then single Treads of one chunk, whose data the client returns without copying.
  for (let i = 0; i < 16; i++) {
    const name = `f${i % 4}`;
    const f = await s.open({ path: name });
    got.push({ name: `${name}@${i * 1000}`, data: await f.read({ offset: i * 1000, count: 100_000 }) });
    await f.close();
  }
  for (const g of got) {
    const [name, at] = g.name.split('@');
    const want = files.get(name!)!;
    const start = at === undefined ? 0 : Number(at);
    const expected = at === undefined ? want : want.subarray(start, start + g.data.length);
    expect(g.data.length, g.name).toBe(at === undefined ? want.length : Math.min(100_000, 131072 - 24));
    expect(Buffer.from(g.data).equals(expected), `${g.name} holds what the file holds`).toBe(true);
  }
}

describe('Rread data read in place', () => {
  it('stays intact over an in-memory pair (no buffer is reused there)', async () => {
    const { root, files } = tree();
    const fs = new LocalFs({ root });
    const [a, b] = duplexPair();
    const conn = serve({ stream: b, handler: fs });
    const s = await Session.connect({ stream: a, msize: 131072 });
    cleanups.push(async () => {
      await s.close();
      await conn.done;
      fs.close();
    });
    await readAllConcurrently(s, files);
  });

  it('stays intact over TCP, where reply buffers are reused', async () => {
    const { root, files } = tree();
    const fs = new LocalFs({ root });
    const conns: ServerConnection[] = [];
    const server = await listen({ address: 'tcp!127.0.0.1!0', onConnection: (sock) => void conns.push(serve({ stream: sock, handler: fs })) });
    const { port } = server.address() as AddressInfo;
    const s = await Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port}` }), msize: 131072 });
    cleanups.push(async () => {
      await s.close();
      await Promise.all(conns.map((c) => c.done));
      await new Promise((r) => server.close(r));
      fs.close();
    });
    await readAllConcurrently(s, files);
  });

  it('small reads over TCP (frames cut from shared slabs) never share bytes', async () => {
    const { root, files } = tree();
    const fs = new LocalFs({ root });
    const conns: ServerConnection[] = [];
    const server = await listen({ address: 'tcp!127.0.0.1!0', onConnection: (sock) => void conns.push(serve({ stream: sock, handler: fs })) });
    const { port } = server.address() as AddressInfo;
    const sessions = await Promise.all(
      Array.from({ length: 3 }, async () => Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port}` }), msize: 131072 })),
    );
    cleanups.push(async () => {
      await Promise.all(sessions.map((s) => s.close()));
      await Promise.all(conns.map((c) => c.done));
      await new Promise((r) => server.close(r));
      fs.close();
    });
    const opened = await Promise.all(Array.from({ length: 12 }, (_, i) => sessions[i % 3]!.open({ path: `f${i % 4}` })));
    // 600 reads of 1-8 KiB in flight together, every result kept to the end.
    const got = await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        const k = i % 12;
        const offset = (i * 7919) % (590 * 1024);
        const count = 1 + ((i * 104729) % 8192);
        return { name: `f${k % 4}`, offset, count, data: await opened[k]!.read({ offset, count }) };
      }),
    );
    for (const g of got) {
      expect(g.data.length).toBe(g.count);
      expect(Buffer.from(g.data).equals(files.get(g.name)!.subarray(g.offset, g.offset + g.count)), `${g.name}@${g.offset}+${g.count}`).toBe(true);
    }
    await Promise.all(opened.map((f) => f.close()));
  });
});
