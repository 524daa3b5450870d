/** `remotes/`, fetching with the real git CLI from a repository the git CLI made. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, P9_DOTL_RDONLY, P9_DOTL_RDWR, RemoteError, Session } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
