/** `remotes/`, fetching with the real git CLI from a repository the git CLI made. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, P9_DOTL_RDONLY, P9_DOTL_RDWR, RemoteError, Session } from '@kitbox/p9p';
import { createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitFetcher } from './fetch.js';
import { DatakitFs } from './server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
let dir: string;
let s: Session;
let upstream: string;
let upstreamHead: string;
let fs: DatakitFs;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-remotes-'));
  upstream = join(dir, 'upstream');
  mkdirSync(upstream);
  const g = (...a: string[]): string =>
    execFileSync('git', ['-C', upstream, '-c', 'user.name=Up', '-c', 'user.email=up@example.com', ...a], { encoding: 'utf8' });
  g('init', '-q', '-b', 'main');
  writeFileSync(join(upstream, 'README'), 'from upstream\n');
  g('add', 'README');
  g('commit', '-q', '-m', 'upstream commit');
  upstreamHead = g('rev-parse', 'HEAD').trim();
  fs = await DatakitFs.open({ gitdir: join(dir, 'repo.git') });
  const [a, b] = duplexPair();
  fs.serve(a);
  s = await Session.connect({ stream: b });
});
afterEach(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const write = (path: string, text: string): Promise<void> => s.writeFile({ path, data: enc.encode(text) });

async function command(path: string, cmd: string): Promise<{ errno?: string; reply: string }> {
  const f = await s.open({ path, flags: P9_DOTL_RDWR });
  try {
    let errno: string | undefined;
    await f.write({ offset: 0, data: enc.encode(cmd) }).catch((e: unknown) => {
      if (!(e instanceof RemoteError)) throw e;
      errno = e.code;
    });
    const reply = dec.decode(await f.read({ offset: 0, count: 4096 }));
    return errno === undefined ? { reply } : { errno, reply };
  } finally {
    await f.close();
  }
}

describe('remotes', () => {
  it('fetches a branch; head reports it; fast-forward and ro use it', async () => {
    await s.mkdir({ path: 'remotes/origin' });
    expect((await s.readdir({ path: 'remotes/origin' })).map((d) => d.name).sort()).toEqual(['.', '..', 'fetch', 'head', 'url']);
    expect(await command('remotes/origin/fetch', 'main')).toEqual({ errno: 'EINVAL', reply: 'error: remote url is not defined\n' });
    await write('remotes/origin/url', `${upstream}\n`);
    const head = await s.open({ path: 'remotes/origin/head', flags: P9_DOTL_RDONLY });
    const first = head.read({ offset: 0, count: 100 });
    expect(await command('remotes/origin/fetch', 'main')).toEqual({ reply: '' });
    expect(dec.decode(await first)).toBe(`${upstreamHead}\n`);
    await head.close();
    await s.mkdir({ path: 'branch/master' });
    await write('branch/master/fast-forward', upstreamHead);
    expect(dec.decode(await s.readFile({ path: 'branch/master/ro/README' }))).toBe('from upstream\n');
    expect(await command('remotes/origin/fetch', 'nope')).toEqual({ errno: 'ENOENT', reply: 'error: no head to fetch\n' });
  });

  it('refuses bad URLs, option-like URLs and bad branch names', async () => {
    await s.mkdir({ path: 'remotes/r' });
    await write('remotes/r/url', join(dir, 'does-not-exist'));
    expect(await command('remotes/r/fetch', 'main')).toEqual({ errno: 'EIO', reply: `error: cannot fetch ${join(dir, 'does-not-exist')}\n` });
    await write('remotes/r/url', '--upload-pack=touch /tmp/pwned');
    expect((await command('remotes/r/fetch', 'main')).errno).toBe('EINVAL');
    await write('remotes/r/url', `ext::sh -c touch% ${join(dir, 'pwned')}`);
    expect((await command('remotes/r/fetch', 'main')).errno).toBe('EIO');
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    await write('remotes/r/url', upstream);
    expect((await command('remotes/r/fetch', 'a..b')).errno).toBe('EINVAL');
    expect((await command('remotes/r/fetch', 'main:refs/heads/evil')).errno).toBe('EINVAL');
    await expect(s.mkdir({ path: 'remotes/r' })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(s.mkdir({ path: 'remotes/bad..name' })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('remotes are per connection', async () => {
    await s.mkdir({ path: 'remotes/mine' });
    expect((await s.readdir({ path: 'remotes' })).map((d) => d.name)).toContain('mine');
    const [a, b] = duplexPair();
    fs.serve(a);
    const other = await Session.connect({ stream: b });
    expect((await other.readdir({ path: 'remotes' })).map((d) => d.name)).toEqual(['.', '..']);
    await other.close();
  });
});

describe('gitFetcher bounds', () => {
  it('runs at most maxConcurrent git processes; past maxWaiting a fetch fails at once with EBUSY', async () => {
    // A git:// server that accepts and never answers: each fetch holds its git process until the timeout.
    const held = new Set<Socket>();
    const silent = createServer((c) => {
      held.add(c);
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const fetch = gitFetcher({ timeoutMs: 1500, maxConcurrent: 1, maxWaiting: 1 });
    const req = (i: number) => ({ gitdir: join(dir, 'repo.git'), url: `git://127.0.0.1:${port}/r${i}`, branch: 'main', ref: `refs/remotes/x/r${i}` });
    const t0 = Date.now();
    const first = fetch(req(1)).catch((e: { code?: string }) => e.code);
    const second = fetch(req(2)).catch((e: { code?: string }) => e.code);
    const third = await fetch(req(3)).catch((e: { code?: string }) => e.code);
    expect(third).toBe('EBUSY');
    expect(Date.now() - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(held.size).toBe(1); // the second waits for the first's process
    expect(await first).toBe('EIO');
    expect(await second).toBe('EIO');
    for (const c of held) c.destroy();
    silent.close();
  }, 20_000);
});
