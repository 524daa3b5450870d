/**
 * The client commands end to end: the built `datakit` serves a fresh repository on a Unix
 * socket, and the same command, as a shell script would use it, creates a branch, commits
 * files (one from stdin), reads them back, lists, logs and watches; git agrees.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { Server } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listen } from '@kitbox/p9p';
import { afterAll, describe, expect, it } from 'vitest';
import { DatakitFs } from '../fs/server.js';
import { runClient } from './client-commands.js';

const run = promisify(execFile);
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'datakit-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(cli))('datakit client commands', () => {
  it('branch, commit (files and stdin), read, ls, log and watch against a served repository', async () => {
    const git = join(dir, 'repo.git');
    const sock = join(dir, 'dk.sock');
    const server: ChildProcess = spawn('node', [cli, 'serve', '--git', git, '--listen', `unix:${sock}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      server.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('serving')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
    });
    const env = { ...process.env, DATAKIT_ADDR: `unix:${sock}` };
    const dk = (args: string[], input?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const c = spawn('node', [cli, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
        c.stdin.end(input ?? '');
      });
    try {
      expect((await dk(['branch', 'create', 'master'])).code).toBe(0);
      expect((await dk(['branch', 'list'])).stdout).toBe('master\n');
      writeFileSync(join(dir, 'readme'), 'hello datakit\n');
      const c1 = await dk(['commit', 'master', 'first commit', '--write', 'README=' + join(dir, 'readme'), '--write', 'conf/value=-'], '42\n');
      expect(c1.stderr).toBe('');
      expect(c1.stdout).toMatch(/^[0-9a-f]{40}\n$/);
      const first = c1.stdout.trim();
      expect((await dk(['read', 'branch/master/ro/README'])).stdout).toBe('hello datakit\n');
      expect((await dk(['read', 'branch/master/ro/conf/value'])).stdout).toBe('42\n');
      expect((await dk(['ls', 'branch/master/ro'])).stdout).toBe('README\nconf\n');

      // A watcher sees the current head, then the next commit.
      const watcher = spawn('node', [cli, 'watch', 'master'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      watcher.stdout.on('data', (d: Buffer) => (seen += d.toString()));
      for (let i = 0; i < 100 && !seen.includes(first); i++) await new Promise((r) => setTimeout(r, 50));
      const c2 = await dk(['commit', 'master', 'second', '--remove', 'conf/value']);
      const second = c2.stdout.trim();
      for (let i = 0; i < 100 && !seen.includes(second); i++) await new Promise((r) => setTimeout(r, 50));
      watcher.kill('SIGINT');
      expect(seen.split('\n').filter((l) => l !== '')).toEqual([first, second]);

      expect((await dk(['log', 'master'])).stdout).toBe(`${second} second\n${first} first commit\n`);
      expect(execFileSync('git', ['--git-dir', git, 'log', '--format=%H %s', 'master']).toString()).toBe(`${second} second\n${first} first commit\n`);
      execFileSync('git', ['--git-dir', git, 'fsck', '--strict']);

      // write: the bin's stdin into one commit.
      const w = await dk(['write', 'master', 'conf/piped', '-m', 'piped'], 'through stdin\n');
      expect(w).toMatchObject({ code: 0, stderr: '' });
      expect((await dk(['read', 'branch/master/ro/conf/piped'])).stdout).toBe('through stdin\n');
      expect(execFileSync('git', ['--git-dir', git, 'log', '-1', '--format=%H %s', 'master']).toString()).toBe(`${w.stdout.trim()} piped\n`);

      // Errors: remote (exit 1, with the reason), usage (exit 2).
      const missing = await dk(['read', 'branch/master/ro/nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^datakit: .*(ENOENT|No such file)/);
      expect((await dk(['commit', 'master', 'nothing'])).code).toBe(2);
      expect((await run('node', [cli, 'read', 'x'], { env: { ...process.env, DATAKIT_ADDR: '' } }).catch((e: { code: number; stderr: string }) => e)).stderr).toMatch(/no server address/);
    } finally {
      server.kill('SIGTERM');
    }
  }, 60_000);
});

describe('datakit write (in process, against a served repository)', () => {
  it('commits stdin to PATH in one transaction, prints the commit; bad input is a clear error', async () => {
    const gitdir = join(dir, 'write.git');
    const sock = join(dir, 'write.sock');
    const fs = await DatakitFs.open({ gitdir });
    const server: Server = await listen({ address: `unix!${sock}`, onConnection: (s) => void fs.serve(s) });
    const dk = async (args: string[], stdin = '') => {
      let stdout = '';
      const errs: string[] = [];
      const code = await runClient(args, {
        out: (d) => (stdout += typeof d === 'string' ? d : new TextDecoder().decode(d)),
        err: (l) => errs.push(l),
        stdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
        env: { DATAKIT_ADDR: `unix:${sock}` },
      });
      return { code, stdout, stderr: errs.join('\n') };
    };
    const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' });
    try {
      // The branch is made if missing; the message defaults to "write PATH".
      const w1 = await dk(['write', 'master', 'conf/port'], '5640\n');
      expect(w1).toMatchObject({ code: 0, stderr: '' });
      expect(w1.stdout).toMatch(/^[0-9a-f]{40}\n$/);
      expect(git('rev-parse', 'master')).toBe(w1.stdout);
      expect(git('show', 'master:conf/port')).toBe('5640\n');
      expect(git('log', '-1', '--format=%s', 'master')).toBe('write conf/port\n');

      const w2 = await dk(['write', 'master', 'conf/host', '-m', 'set the host'], 'localhost\n');
      expect(w2.code).toBe(0);
      expect(git('log', '--format=%H %s', 'master')).toBe(`${w2.stdout.trim()} set the host\n${w1.stdout.trim()} write conf/port\n`);
      expect(git('show', 'master:conf/port')).toBe('5640\n');
      // Empty stdin writes an empty file.
      expect((await dk(['write', 'master', 'empty'])).code).toBe(0);
      expect(git('cat-file', '-s', 'master:empty')).toBe('0\n');
      git('fsck', '--strict');

      // Usage errors (exit 2) and what the server refuses (exit 1, with the reason).
      for (const bad of [['write'], ['write', 'master'], ['write', 'master', '/'], ['write', 'master', 'x', '--force'], ['write', 'master', 'x', '-m']]) {
        const r = await dk(bad);
        expect(r.code, bad.join(' ')).toBe(2);
        expect(r.stderr).toMatch(/^datakit: /);
      }
      const badName = await dk(['write', 'master', 'a/../b'], 'x');
      expect(badName.code).toBe(1);
      expect(badName.stderr).toMatch(/EINVAL/);
      const badBranch = await dk(['write', 'no..branch', 'x'], 'x');
      expect(badBranch.code).toBe(1);
      expect(badBranch.stderr).toMatch(/EINVAL/);
      // Nothing of the refused writes reached the branch.
      expect(git('ls-tree', '-r', '--name-only', 'master')).toBe('conf/host\nconf/port\nempty\n');
    } finally {
      server.close();
    }
  });
});
