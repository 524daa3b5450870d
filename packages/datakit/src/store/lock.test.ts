import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLockFile } from './lock.js';
import { Store } from './store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (content: string) => () => Promise.resolve({ content, result: undefined });

describe('withLockFile', () => {
  it('publishes the new content and removes the lock', async () => {
    const ref = join(dir, 'ref');
    await withLockFile(ref, write('one\n'));
    expect(readFileSync(ref, 'utf8')).toBe('one\n');
    expect(existsSync(`${ref}.lock`)).toBe(false);
  });

  it('waits for a live lock and gives up with LOCKED', async () => {
    const ref = join(dir, 'ref');
    writeFileSync(`${ref}.lock`, '');
    await expect(withLockFile(ref, write('x\n'), { timeoutMs: 150, staleMs: 60_000 })).rejects.toMatchObject({ code: 'LOCKED' });
    // Not taken over: the other writer still holds it.
    expect(existsSync(`${ref}.lock`)).toBe(true);
    expect(existsSync(ref)).toBe(false);
  });

  it('removes a lock left by a dead writer (unchanged for staleMs) and goes on', async () => {
    const ref = join(dir, 'ref');
    writeFileSync(`${ref}.lock`, 'half-written');
    const old = new Date(Date.now() - 10_000);
    utimesSync(`${ref}.lock`, old, old);
    await withLockFile(ref, write('two\n'), { timeoutMs: 150, staleMs: 5000 });
    expect(readFileSync(ref, 'utf8')).toBe('two\n');
    expect(existsSync(`${ref}.lock`)).toBe(false);
  });

  it('never takes a lock this process holds, however old', async () => {
    const ref = join(dir, 'ref');
    let release: () => void = () => undefined;
    const first = withLockFile(ref, async () => {
      const old = new Date(Date.now() - 10_000);
      utimesSync(`${ref}.lock`, old, old);
      await new Promise<void>((r) => (release = r));
      return { content: 'first\n', result: undefined };
    });
    await new Promise((r) => setTimeout(r, 20));
    await expect(withLockFile(ref, write('second\n'), { timeoutMs: 100, staleMs: 1000 })).rejects.toMatchObject({ code: 'LOCKED' });
    release();
    await first;
    expect(readFileSync(ref, 'utf8')).toBe('first\n');
  });
});

describe('withLockFile beforeRename (objects durable before the ref moves)', () => {
  it('publishes nothing until it resolves', async () => {
    const ref = join(dir, 'ref');
    let resolve: () => void = () => undefined;
    const objects = new Promise<void>((r) => (resolve = r));
    const done = withLockFile(ref, write('next\n'), { beforeRename: objects });
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(ref)).toBe(false);
    expect(existsSync(`${ref}.lock`)).toBe(true);
    resolve();
    await done;
    expect(readFileSync(ref, 'utf8')).toBe('next\n');
  });

  it('leaves the ref as it was, and no lock, when it fails', async () => {
    const ref = join(dir, 'ref');
    writeFileSync(ref, 'old\n');
    const failed = Promise.reject(new Error('fsync failed'));
    // As the store's own promises are: handled elsewhere too, so never "unhandled".
    failed.catch(() => undefined);
    await expect(withLockFile(ref, write('next\n'), { beforeRename: failed })).rejects.toThrow('fsync failed');
    expect(readFileSync(ref, 'utf8')).toBe('old\n');
    expect(existsSync(`${ref}.lock`)).toBe(false);
  });
});

describe('Store after a writer was killed holding a ref lock', () => {
  it('moves the branch once the stale lock is old enough; git agrees', async () => {
    const gitdir = join(dir, 'repo.git');
    const store = await Store.open({ gitdir });
    const blob = await store.writeBlob(new TextEncoder().encode('x\n'));
    const tree = await store.writeTree([{ mode: '100644', path: 'x', oid: blob, type: 'blob' }]);
    const commit = await store.writeCommit({ tree, parents: [], message: 'x\n', author: { name: 'a', email: 'a@a', timestamp: 1_700_000_000 } });
    // What SIGKILL between open(O_EXCL) and rename leaves: an empty lock file.
    const lock = join(gitdir, 'refs', 'heads', 'master.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 3000);
    utimesSync(lock, old, old);
    await store.updateBranch('master', undefined, commit);
    expect(existsSync(lock)).toBe(false);
    expect(execFileSync('git', ['--git-dir', gitdir, 'rev-parse', 'master'], { encoding: 'utf8' }).trim()).toBe(commit);
  });
});
