import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dial, Session } from '@kitbox/p9p';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** The built command (`npm run build`); these tests skip without it. */
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'datakit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Starts `datakit serve`; resolves once it says it is serving. */
function start(args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn('node', [cli, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('serving')) resolve({ child, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => child.once('exit', (code) => r(code)));

describe.skipIf(!existsSync(cli))('the datakit command', () => {
  it('prints usage; exits 2 on bad arguments and 1 when it cannot listen', async () => {
    expect((await run('node', [cli, '--help'])).stdout).toMatch(/^Usage: datakit serve/);
    await expect(run('node', [cli, 'serve', '--git', dir])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--listen ADDR is required/) });
    await expect(run('node', [cli, 'serve', '--git', join(dir, 'x.git'), '--listen', `unix:${join(dir, 'no', 'such', 'dir', 's')}`])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/cannot listen/),
    });
  });

  it('says why it cannot open the repository', async () => {
    await expect(run('node', [cli, 'serve', '--git', '/etc/passwd/x.git', '--listen', `unix:${join(dir, 'r.sock')}`])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/cannot open the repository \/etc\/passwd\/x.git: ENOTDIR/),
    });
  });

  it('serves over TCP on the port the system chose', async () => {
    const { child, stderr } = await start(['--git', join(dir, 'tcp.git'), '--listen', 'tcp!127.0.0.1!0']);
    try {
      const port = /tcp!127\.0\.0\.1!(\d+)/.exec(stderr())?.[1];
      expect(Number(port)).toBeGreaterThan(0);
      const s = await Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port ?? ''}` }) });
      await s.mkdir({ path: 'branch/master' });
      expect(dec.decode(await s.readFile({ path: 'branch/master/head' }))).toBe('\n');
      await s.close();
      const gone = exited(child);
      child.kill('SIGTERM');
      expect(await gone).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('serves several clients on a Unix socket; git agrees; SIGTERM exits cleanly', async () => {
    const gitdir = join(dir, 'served.git');
    const sock = join(dir, 'dk.sock');
    const { child } = await start(['--git', gitdir, '--listen', `unix:${sock}`]);
    try {
      const a = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
      const b = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
      await a.mkdir({ path: 'branch/master' });
      await a.mkdir({ path: 'branch/master/transactions/ta' });
      await b.mkdir({ path: 'branch/master/transactions/tb' });
      await a.writeFile({ path: 'branch/master/transactions/ta/rw/a.txt', data: enc.encode('from a\n') });
      await b.writeFile({ path: 'branch/master/transactions/tb/rw/b.txt', data: enc.encode('from b\n') });
      await a.writeFile({ path: 'branch/master/transactions/ta/msg', data: enc.encode('a\n') });
      await b.writeFile({ path: 'branch/master/transactions/tb/msg', data: enc.encode('b\n') });
      await Promise.all([
        a.writeFile({ path: 'branch/master/transactions/ta/ctl', data: enc.encode('commit') }),
        b.writeFile({ path: 'branch/master/transactions/tb/ctl', data: enc.encode('commit') }),
      ]);
      const head = dec.decode(await b.readFile({ path: 'branch/master/head' })).trim();
      expect(dec.decode(await a.readFile({ path: `snapshots/${head}/ro/a.txt` }))).toBe('from a\n');
      expect(dec.decode(await a.readFile({ path: 'branch/master/ro/b.txt' }))).toBe('from b\n');
      const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' });
      git('fsck', '--strict', '--no-dangling');
      expect(git('rev-parse', 'master').trim()).toBe(head);
      expect(git('ls-tree', '--name-only', head).trim().split('\n')).toEqual(['a.txt', 'b.txt']);
      expect(git('cat-file', '-p', `${head}:b.txt`)).toBe('from b\n');
      // A transaction left open when the server stops is dropped, not committed.
      await a.mkdir({ path: 'branch/master/transactions/left' });
      const gone = exited(child);
      child.kill('SIGTERM');
      expect(await gone).toBe(0);
      expect(existsSync(sock)).toBe(false);
      expect(git('rev-parse', 'master').trim()).toBe(head);
      await a.close();
      await b.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('replaces a stale socket file, refuses a live one, and stops on SIGINT', async () => {
    const gitdir = join(dir, 'stale.git');
    const sock = join(dir, 'stale.sock');
    const first = await start(['--git', gitdir, '--listen', `unix:${sock}`]);
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(existsSync(sock)).toBe(true);
    const second = await start(['--git', gitdir, '--listen', `unix:${sock}`]);
    try {
      await expect(run('node', [cli, 'serve', '--git', gitdir, '--listen', `unix:${sock}`])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/in use by a running server/),
      });
      const s = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
      expect((await s.readdir({ path: '' })).map((d) => d.name).sort()).toEqual(['.', '..', 'branch', 'commits', 'debug', 'remotes', 'snapshots', 'trees']);
      const gone = exited(second.child);
      second.child.kill('SIGINT');
      expect(await gone).toBe(0);
      await s.close();
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
