// Interop: diod's own clients (diodls, diodcat, diodload; libnpclient,
// 9P2000.L) against serve(LocalFs) exporting a temporary host directory.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../transport/dial.js';
import { serve } from '../server/serve.js';
import type { ServerConnection } from '../server/serve.js';
import { LocalFs } from './local.js';

const run = promisify(execFile);
const TOOLS = ['/usr/sbin/diodls', '/usr/sbin/diodcat', '/usr/sbin/diodload'];
const missing = TOOLS.filter((t) => !existsSync(t));
if (missing.length > 0) console.log(`LocalFs diod interop skipped: ${missing.join(', ')} absent (apt-get install diod)`);

describe.skipIf(missing.length > 0)('diod clients against serve(LocalFs)', () => {
  let base = '';
  let root = '';
  let fs: LocalFs;
  const conns: ServerConnection[] = [];
  let server: Server;
  let where = '';
  const big = Buffer.from(new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff));

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'p9p-local-diod-'));
    root = join(base, 'export');
    mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(root, 'hello.txt'), 'hello, diod\n', { mode: 0o644 });
    writeFileSync(join(root, 'sub', 'big.bin'), big);
    writeFileSync(join(base, 'secret'), 'outside');
    symlinkSync('../secret', join(root, 'escape'));
    // diodload reads "zero" and writes "null" at the attach root.
    writeFileSync(join(root, 'zero'), new Uint8Array(65536));
    writeFileSync(join(root, 'null'), '');
    fs = new LocalFs({ root });
    // diodload attaches aname "ctl" (diod's control tree): serve the export under every name.
    const anyName = new Proxy(fs, {
      get: (t, k) => (k === 'attach' ? (req: { aname: string }) => t.attach({ ...req, aname: '' }) : (Reflect.get(t, k) as unknown) instanceof Function ? (Reflect.get(t, k) as (...a: unknown[]) => unknown).bind(t) : Reflect.get(t, k)),
    });
    server = await listen({ address: 'tcp!127.0.0.1!0', onConnection: (s) => void conns.push(serve({ stream: s, handler: anyName })) });
    where = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.close();
    rmSync(base, { recursive: true, force: true });
  });

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

  it('diodls lists the host directory with modes and sizes', async () => {
    const root9 = await ls();
    expect(root9.map((e) => e.name).sort()).toEqual(['.', '..', ...readdirSync(root)].sort());
    expect(root9.find((e) => e.name === 'hello.txt')).toMatchObject({ size: 12 });
    expect(root9.find((e) => e.name === 'hello.txt')?.mode.startsWith('-rw-r--r--')).toBe(true);
    expect(root9.find((e) => e.name === 'sub')?.mode.startsWith('d')).toBe(true);
    // diodls prints no 'l' for links; the link is listed as itself (size of its target string), not followed.
    expect(root9.find((e) => e.name === 'escape')).toMatchObject({ size: '../secret'.length });
    const sub = await ls('sub');
    expect(sub.filter((e) => e.name !== '.' && e.name !== '..').map((e) => [e.name, e.size])).toEqual([
      ['big.bin', 300_000],
      ['deeper', Number(statSync(join(root, 'sub', 'deeper')).size)],
    ].sort());
  });

  it('diodcat reads host files, and cannot read through a symlink out of the root', async () => {
    const { stdout } = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', 'hello.txt'], { timeout: 10_000 });
    expect(stdout).toBe('hello, diod\n');
    const r = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', '-m', '8192', 'sub/big.bin'], { timeout: 10_000, encoding: 'buffer', maxBuffer: 1 << 22 });
    expect(Buffer.from(r.stdout).equals(big)).toBe(true);
    const bad = await run('/usr/sbin/diodcat', ['-s', where, '-a', '/', 'escape'], { timeout: 10_000 }).catch((e: { stdout: string; stderr: string }) => e);
    expect((bad as { stdout: string }).stdout).toBe('');
    expect((bad as { stderr: string }).stderr).toMatch(/symbolic links/i);
  });

  it('diodload runs concurrent read/write and getattr loads without errors', async () => {
    for (const extra of [[], ['-g']]) {
      const { stderr } = await run('/usr/sbin/diodload', ['-s', where, '-r', '1', '-n', '4', ...extra], { timeout: 20_000 });
      const ops = Number(/(\d+) ops\/s/.exec(stderr)?.[1] ?? 0);
      expect(stderr.split('\n').filter((l) => l !== '' && !/ops\/s/.test(l))).toEqual([]);
      expect(ops).toBeGreaterThan(0);
    }
  });

  it('every connection released its fids and files', async () => {
    await Promise.all(conns.map((c) => c.done));
    expect(conns.length).toBeGreaterThan(4);
    expect(conns.every((c) => c.fidCount === 0)).toBe(true);
    expect(fs.openFiles).toBe(0);
  });
});
