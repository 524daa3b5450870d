// Interop: diod's own clients (diodls, diodcat, diodload; libnpclient,
// 9P2000.L) against this server serving a MemoryFs on a TCP port.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryFs } from '../handlers/memory.js';
import { listen } from '../transport/dial.js';
import { serve } from './serve.js';
import type { ServerConnection } from './serve.js';

const run = promisify(execFile);
const TOOLS = ['/usr/sbin/diodls', '/usr/sbin/diodcat', '/usr/sbin/diodload'];
const missing = TOOLS.filter((t) => !existsSync(t));
if (missing.length > 0) console.log(`diod tools interop skipped: ${missing.join(', ')} absent (apt-get install diod)`);

describe.skipIf(missing.length > 0)('diod clients against serve(MemoryFs)', () => {
  const fs = new MemoryFs();
  const conns: ServerConnection[] = [];
  let server: Server;
  let where = '';
  const big = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);

  beforeAll(async () => {
    fs.writeFile('hello.txt', 'hello, diod\n');
    fs.writeFile('sub/big.bin', big);
    fs.writeFile('sub/deeper/note', 'n');
    // diodload reads "zero" and writes "null" at the attach root (diod's ctl tree has them).
    fs.writeFile('zero', new Uint8Array(65536));
    fs.writeFile('null', '');
    server = await listen({ address: 'tcp!127.0.0.1!0', onConnection: (s) => void conns.push(serve({ stream: s, handler: fs })) });
    where = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  /** diodls -l lines as { mode, size, name }. */
  async function ls(path?: string): Promise<{ mode: string; size: number; name: string }[]> {
    const { stdout } = await run('/usr/sbin/diodls', ['-s', where, '-a', '/', '-l', ...(path === undefined ? [] : [path])], { timeout: 10_000 });
    return stdout
      .trim()
      .split('\n')
      .map((line) => {
        const f = line.trim().split(/\s+/);
        return { mode: f[0] ?? '', size: Number(f[4]), name: f[f.length - 1] ?? '' };
      });
  }

  it('diodls lists what the tree holds, with sizes and types', async () => {
    const root = await ls();
    expect(root.map((e) => e.name).sort()).toEqual(['.', '..', ...(fs.lookup('')?.kind === 'dir' ? (fs.lookup('') as { names: string[] }).names : [])].sort());
    const hello = root.find((e) => e.name === 'hello.txt');
    expect(hello).toMatchObject({ size: 12 });
    expect(hello?.mode.startsWith('-rw-r--r--')).toBe(true);
    expect(root.find((e) => e.name === 'sub')?.mode.startsWith('d')).toBe(true);
    const sub = await ls('sub');
    expect(sub.filter((e) => e.name !== '.' && e.name !== '..').map((e) => [e.name, e.size])).toEqual([
      ['big.bin', 200_000],
      ['deeper', 4096],
    ]);
  });

  it('diodcat prints file contents, large ones over many Treads', async () => {
    const { stdout } = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', 'hello.txt'], { timeout: 10_000 });
    expect(stdout).toBe('hello, diod\n');
    const r = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', '-m', '8192', 'sub/big.bin'], { timeout: 10_000, encoding: 'buffer', maxBuffer: 1 << 22 });
    expect(Buffer.from(r.stdout).equals(Buffer.from(big))).toBe(true);
    const bad = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', 'nope'], { timeout: 10_000 }).catch((e: { stderr: string }) => e);
    expect((bad as { stderr: string }).stderr).toMatch(/No such file/);
  });

  it('diodload runs concurrent read/write and getattr loads without errors', async () => {
    for (const extra of [[], ['-g']]) {
      const { stderr } = await run('/usr/sbin/diodload', ['-s', where, '-r', '1', '-n', '4', ...extra], { timeout: 20_000 });
      const ops = Number(/(\d+) ops\/s/.exec(stderr)?.[1] ?? 0);
      expect(stderr.split('\n').filter((l) => l !== '' && !/ops\/s/.test(l))).toEqual([]);
      expect(ops).toBeGreaterThan(0);
    }
  });

  it('every connection released its fids', async () => {
    await Promise.all(conns.map((c) => c.done));
    expect(conns.length).toBeGreaterThan(5);
    expect(conns.every((c) => c.fidCount === 0)).toBe(true);
  });
});
