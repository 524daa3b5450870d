// The p9p command, run in process against its own `serve`, and once as a
// real program (the built dist/cli/main.js) end to end.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, modeString } from './main.js';

const base = mkdtempSync(join(tmpdir(), 'p9p-cli-'));
const share = join(base, 'share');
const sock = join(base, 's.sock');
const addr = `unix!${sock}`;
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Runs main() with captured output. */
async function p9p(argv: string[], stdin: string | Uint8Array = ''): Promise<{ code: number; out: Buffer; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (d: Buffer) => o.push(d));
  err.on('data', (d: Buffer) => e.push(d));
  const code = await main(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout: out, stderr: err, env: { P9P_ADDR: addr } });
  return { code, out: Buffer.concat(o), err: Buffer.concat(e).toString() };
}

describe('p9p in process', () => {
  const stop = new AbortController();
  let served: Promise<number>;
  beforeAll(async () => {
    mkdirSync(join(share, 'sub'), { recursive: true });
    writeFileSync(join(share, 'hello.txt'), 'hello\n');
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    const sink = new PassThrough().resume();
    served = main(['serve', share, '--listen', addr], { stdin: Readable.from([]), stdout: sink, stderr: sink, env: {}, signal: stop.signal, onListening: () => ready() });
    await listening;
  });
  afterAll(async () => {
    stop.abort();
    expect(await served).toBe(0);
  });

  it('ls lists names, ls -l modes and sizes', async () => {
    const r = await p9p(['ls']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out.toString()).toBe('hello.txt\nsub\n');
    const l = (await p9p(['ls', '-l'])).out.toString().trim().split('\n');
    expect(l[0]).toMatch(/^-rw-r--r-- +1 +\d+ +\d+ +6 \d{4}-\d\d-\d\d \d\d:\d\d hello\.txt$/);
    expect(l[1]).toMatch(/^drwx.* sub$/);
    expect((await p9p(['ls', 'hello.txt'])).out.toString()).toBe('hello.txt\n');
  });

  it('write copies stdin to a file, read streams it back', async () => {
    const big = Buffer.from(new Uint8Array(3_000_000).map((_, i) => (i * 7) & 0xff));
    expect((await p9p(['write', 'sub/big.bin'], big)).code).toBe(0);
    expect(readFileSync(join(share, 'sub/big.bin')).equals(big)).toBe(true);
    const r = await p9p(['read', 'sub/big.bin']);
    expect(r.code).toBe(0);
    expect(r.out.equals(big)).toBe(true);
    // write truncates an existing file.
    await p9p(['write', 'sub/big.bin'], 'short');
    expect(readFileSync(join(share, 'sub/big.bin'), 'utf8')).toBe('short');
  });

  it('stat, mkdir, mv and rm act on the host directory', async () => {
    expect((await p9p(['mkdir', 'a', 'b'])).code).toBe(0);
    expect(existsSync(join(share, 'a')) && existsSync(join(share, 'b'))).toBe(true);
    expect((await p9p(['mv', 'hello.txt', 'a/hi.txt'])).code).toBe(0);
    expect(readFileSync(join(share, 'a/hi.txt'), 'utf8')).toBe('hello\n');
    const st = (await p9p(['stat', 'a/hi.txt'])).out.toString();
    expect(st).toMatch(/^a\/hi\.txt: -rw-r--r-- mode=0644 size=6 nlink=1 uid=\d+ gid=\d+ ino=\d+ mtime=\d{4}-/);
    expect((await p9p(['rm', 'a/hi.txt', 'a', 'b'])).code).toBe(0);
    expect(existsSync(join(share, 'a'))).toBe(false);
  });

  it('exits 1 with the errno name on a remote error, 2 on usage', async () => {
    const r = await p9p(['read', 'missing']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^p9p: read missing: ENOENT.*\n$/);
    expect(r.out.length).toBe(0);
    expect((await p9p(['rm', 'sub'])).err).toMatch(/ENOTEMPTY/);
    const u = await p9p(['frob']);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/^p9p: unknown command "frob"\nUsage: p9p/);
    const dead = await main(['-a', `unix!${join(base, 'nobody.sock')}`, 'ls'], { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough().resume(), env: {} });
    expect(dead).toBe(1);
    // Overlapping --map-uid ranges: usage, before anything listens.
    const err = new PassThrough();
    let said = '';
    err.on('data', (d: Buffer) => (said += d.toString()));
    const overlap = await main(['serve', base, '--listen', `unix!${join(base, 'never.sock')}`, '--map-uid', '0:10:5', '--map-uid', '3:100'], { stdin: Readable.from([]), stdout: new PassThrough(), stderr: err, env: {} });
    expect(overlap).toBe(2);
    expect(said).toMatch(/^p9p: uidMap: guest ids 3\.\. are in two ranges\nUsage: p9p/);
  });

  it('--help and --version', async () => {
    const h = await p9p(['--help']);
    expect([h.code, h.out.toString()]).toEqual([0, expect.stringMatching(/^Usage: p9p serve DIR/)]);
    expect((await p9p(['--version'])).out.toString()).toMatch(/^p9p \(@kitbox\/p9p\) \d+\.\d+\.\d+\n$/);
  });

  it('writes modes as ls does', () => {
    expect(modeString(0o100644)).toBe('-rw-r--r--');
    expect(modeString(0o040755)).toBe('drwxr-xr-x');
    expect(modeString(0o120777)).toBe('lrwxrwxrwx');
  });
});

describe('p9p serve --ro', () => {
  it('serves reads and answers EROFS, exit 1, to changes', async () => {
    const dir = join(base, 'ro');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'kept');
    const roAddr = `unix!${join(base, 'ro.sock')}`;
    const stop = new AbortController();
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    const sink = new PassThrough().resume();
    const served = main(['serve', dir, '--listen', roAddr, '--ro'], { stdin: Readable.from([]), stdout: sink, stderr: sink, env: {}, signal: stop.signal, onListening: () => ready() });
    await listening;
    const w = await p9p(['-a', roAddr, 'write', 'f'], 'changed');
    expect([w.code, w.err]).toEqual([1, 'p9p: write f: EROFS\n']);
    expect((await p9p(['-a', roAddr, 'rm', 'f'])).err).toMatch(/EROFS/);
    expect((await p9p(['-a', roAddr, 'read', 'f'])).out.toString()).toBe('kept');
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('kept');
    stop.abort();
    expect(await served).toBe(0);
  });
});

const run = promisify(execFile);
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
if (!existsSync(cli)) console.log('p9p program test skipped: dist/cli/main.js absent (nx run p9p:build)');

describe.skipIf(!existsSync(cli))('the p9p program', () => {
  it('serves a directory; ls, write and read round-trip; exit statuses', async () => {
    const dir = join(base, 'e2e');
    mkdirSync(dir);
    writeFileSync(join(dir, 'seed'), 'seed\n');
    const a = `unix!${join(base, 'e2e.sock')}`;
    const server = spawn('node', [cli, 'serve', dir, '--listen', a], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        server.stderr.on('data', (d: Buffer) => (/serving/.test(d.toString()) ? resolve() : undefined));
        server.once('exit', () => reject(new Error('serve exited')));
      });
      expect((await run('node', [cli, '-a', a, 'ls'])).stdout).toBe('seed\n');
      const w = spawn('node', [cli, '-a', a, 'write', 'out.txt'], { stdio: ['pipe', 'ignore', 'pipe'] });
      w.stdin.end('from stdin\n');
      expect(await new Promise((r) => w.once('exit', r))).toBe(0);
      expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from stdin\n');
      expect((await run('node', [cli, '-a', a, 'read', 'out.txt'])).stdout).toBe('from stdin\n');
      await expect(run('node', [cli, '-a', a, 'read', 'nope'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ENOENT/) });
      await expect(run('node', [cli, 'serve'])).rejects.toMatchObject({ code: 2 });
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    expect(server.exitCode).toBe(0);
    // Six Node processes start one after another: seconds on a loaded machine.
  }, 30_000);
});
