// Interop: this client against diod, a real 9P2000.L server, exporting a
// temporary folder; results are checked on the host filesystem too.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, mkdirSync, openSync, closeSync, constants as fsc } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, RemoteError } from '../channel/errors.js';
import { dial } from '../transport/dial.js';
import { Session } from './session.js';
import { createReadStream, createWriteStream } from './streams.js';

const DIOD = '/usr/sbin/diod';
const haveDiod = existsSync(DIOD);
if (!haveDiod) console.log(`diod interop skipped: ${DIOD} is absent (apt-get install diod)`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const addr = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      (await dial({ address: `tcp!127.0.0.1!${port}` })).destroy();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe.skipIf(!haveDiod)('client against diod', () => {
  let dir = '';
  let port = 0;
  let diod: ChildProcess | undefined;
  const connect = async (msize = 8192): Promise<Session> =>
    Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port}` }), msize, aname: dir, uname: 'root', nUname: 0 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'p9p-diod-'));
    port = await freePort();
    diod = spawn(DIOD, ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-U', 'root', '-S', '-L', 'stderr'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    diod.stderr?.resume();
    await waitForPort(port, 5000);
  });

  afterAll(() => {
    diod?.kill('SIGKILL');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates 9P2000.L at the msize asked for', async () => {
    const s = await connect(8192);
    expect(s.dialect).toBe('9P2000.L');
    expect(s.msize).toBe(8192);
    await s.close();
  });

  it('creates, writes and reads a file split over many Treads and Twrites', async () => {
    const s = await connect(8192);
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    await s.writeFile({ path: 'big.bin', data, mode: 0o640 });
    expect(readFileSync(join(dir, 'big.bin'))).toEqual(Buffer.from(data));
    expect(statSync(join(dir, 'big.bin')).mode & 0o777).toBe(0o640);
    const back = await s.readFile({ path: 'big.bin' });
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    const f = await s.open({ path: 'big.bin' });
    expect(f.chunk).toBeLessThanOrEqual(8192 - 24);
    const mid = await f.read({ offset: 50_000, count: 20_000 });
    expect(Buffer.from(mid).equals(Buffer.from(data.subarray(50_000, 70_000)))).toBe(true);
    await f.close();
    expect(s.fidsInUse).toBe(1);
    await s.close();
  });

  it('streams contents both ways', async () => {
    const s = await connect(8192);
    const data = Buffer.alloc(40_000, 'abc');
    await pipeline(Readable.from([data.subarray(0, 10_000), data.subarray(10_000)]), createWriteStream({ session: s, path: 'stream.txt' }));
    expect(readFileSync(join(dir, 'stream.txt')).equals(data)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of createReadStream({ session: s, path: 'stream.txt' })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    await s.close();
  });

  it('mkdir, readdir, rename, remove, statfs', async () => {
    const s = await connect();
    await s.mkdir({ path: 'd', mode: 0o750 });
    expect(statSync(join(dir, 'd')).isDirectory()).toBe(true);
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'd', `entry-with-a-long-name-${i}`), '');
    const names = (await s.readdir({ path: 'd' })).map((e) => e.name).sort();
    expect(names.length).toBe(302);
    expect(names).toContain('.');
    expect(names).toContain('entry-with-a-long-name-299');
    await s.writeFile({ path: 'old.txt', data: new TextEncoder().encode('x') });
    await s.rename({ from: 'old.txt', to: 'd/new.txt' });
    expect(existsSync(join(dir, 'old.txt'))).toBe(false);
    expect(readFileSync(join(dir, 'd', 'new.txt'), 'utf8')).toBe('x');
    await s.remove({ path: 'd/new.txt' });
    expect(existsSync(join(dir, 'd', 'new.txt'))).toBe(false);
    await s.mkdir({ path: 'empty' });
    await s.remove({ path: 'empty' });
    expect(existsSync(join(dir, 'empty'))).toBe(false);
    const err = await s.remove({ path: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('ENOENT');
    const fs = await s.statfs({});
    expect(fs.bsize).toBeGreaterThan(0);
    expect(fs.namelen).toBeGreaterThan(0);
    expect(s.fidsInUse).toBe(1);
    await s.close();
  });

  it('getattr and setattr: chmod and truncate', async () => {
    const s = await connect();
    await s.writeFile({ path: 'attr.txt', data: new TextEncoder().encode('hello world') });
    const a = await s.stat({ path: 'attr.txt' });
    expect(a.size).toBe(11n);
    expect(a.mode & 0o170000).toBe(0o100000);
    await s.setattr({ path: 'attr.txt', mode: 0o600, size: 5 });
    const st = statSync(join(dir, 'attr.txt'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(5);
    const b = await s.stat({ path: 'attr.txt' });
    expect(b.size).toBe(5n);
    expect(b.mode & 0o777).toBe(0o600);
    await s.close();
  });

  it('symlink and readlink', async () => {
    const s = await connect();
    await s.symlink({ path: 'link', target: 'some/where' });
    expect(readlinkSync(join(dir, 'link'))).toBe('some/where');
    expect(await s.readlink({ path: 'link' })).toBe('some/where');
    await s.close();
  });

  it('walks more than 16 names in several Twalks; a partial walk is ENOENT with no fid left', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
    mkdirSync(join(dir, ...names), { recursive: true });
    writeFileSync(join(dir, ...names, 'leaf'), 'deep');
    const s = await connect();
    expect(new TextDecoder().decode(await s.readFile({ path: [...names, 'leaf'].join('/') }))).toBe('deep');
    const err = await s.walk({ path: [...names, 'missing'].join('/') }).catch((e: unknown) => e);
    expect((err as RemoteError).code).toBe('ENOENT');
    const err2 = await s.walk({ path: ['n0', 'n1', 'zz', ...names].join('/') }).catch((e: unknown) => e);
    expect((err2 as RemoteError).code).toBe('ENOENT');
    expect(s.fidsInUse).toBe(1);
    await s.close();
  });

  it('flushes a pending request (a Tlopen of a FIFO that blocks in diod)', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const s = await connect();
    const ac = new AbortController();
    const opening = s.open({ path: 'fifo', signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    expect(s.inFlight).toBe(1);
    ac.abort();
    // diod either answers the interrupted open or Rflush first; both are honoured.
    const unblock = setTimeout(() => {
      try {
        closeSync(openSync(join(dir, 'fifo'), fsc.O_WRONLY | fsc.O_NONBLOCK));
      } catch {
        /* no reader yet */
      }
    }, 1000);
    const outcome = await opening.then(
      async (f) => {
        await f.close();
        return 'answered';
      },
      (e: unknown) => (e instanceof AbortError ? 'flushed' : `error ${String(e)}`),
    );
    clearTimeout(unblock);
    console.log(`diod flush outcome: ${outcome}`);
    expect(['flushed', 'answered']).toContain(outcome);
    expect(s.inFlight).toBe(0);
    expect(s.fidsInUse).toBe(1);
    // The session still works.
    expect((await s.stat({ path: '' })).mode & 0o40000).toBe(0o40000);
    await s.close();
  });
});
