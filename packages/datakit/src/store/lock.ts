/**
 * Git's lock-file protocol for refs (see git's lockfile.c): `<ref>.lock` is created with
 * O_CREAT|O_EXCL, the new value is written and fsynced into it, and it is renamed over the
 * ref; the directory is fsynced too, so the rename survives a crash. A second writer, in
 * this process or in `git` itself, fails to create the lock and retries, so a
 * compare-and-swap made under the lock is exact.
 *
 * A writer killed while holding a lock (SIGKILL, a crash) leaves `<ref>.lock` behind, and
 * git would refuse that ref until someone removed it by hand. Ref locks are held for a
 * write and an fsync (git itself gives up on a held ref lock after 100 ms,
 * core.filesRefLockTimeout), so a lock that no writer in this process holds and that has
 * not changed for `staleMs` is taken to be a dead writer's and removed.
 */
import { closeSync, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { lstat, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatakitError } from '../errors.js';

export interface LockOptions {
  /** How long to keep retrying a held lock before giving up (ms). */
  timeoutMs?: number;
  /** Age (ms since its last change) past which a lock held by no writer in this process is stale. */
  staleMs?: number;
  /**
   * Waited for, alongside the write and fsync of the new content, before the rename
   * publishes it (the objects a ref will point at becoming durable); if it fails, the
   * file is left as it was and the error is thrown.
   */
  beforeRename?: Promise<unknown> | undefined;
  /** fsync the new content and the directory (default true; false leaves it to the kernel). */
  fsync?: boolean;
  /** Called for each fsync made (for counting). */
  onFsync?: () => void;
}

const fsyncFd = promisify(fsync);

/** Lock files this process holds now: never stale, whatever their age. */
const held = new Set<string>();

/** Removes `lockPath` if it is a dead writer's; true when the caller should retry at once. */
async function removeIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  if (held.has(lockPath)) return false;
  try {
    const st = await lstat(lockPath);
    if (Date.now() - st.mtimeMs < staleMs) return false;
    // Still the same file (not one a live writer has made since)? Then it goes.
    const again = await lstat(lockPath);
    if (again.ino !== st.ino || again.mtimeMs !== st.mtimeMs) return false;
    await rm(lockPath, { force: true });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Runs `body` holding `<path>.lock`. `body` returns the new file content, or `undefined`
 * to leave the file unchanged; the content is fsynced before the rename publishes it.
 */
export async function withLockFile<T>(
  path: string,
  body: () => Promise<{ content?: string; result: T }>,
  { timeoutMs = 5000, staleMs = 2000, beforeRename, fsync: durable = true, onFsync }: LockOptions = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = performance.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    // open, write, close and rename are synchronous (page cache only, microseconds:
    // cheaper than the thread pool's round trip); the fsyncs wait for the disk off the loop.
    let fd: number | undefined;
    try {
      fd = openLock(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await removeIfStale(lockPath, staleMs)) continue;
      if (performance.now() > deadline) {
        throw new DatakitError('LOCKED', `${lockPath} is held by another writer`, { path: lockPath });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
      continue;
    }
    held.add(lockPath);
    let renamed = false;
    try {
      const { content, result } = await body();
      if (content !== undefined) {
        const bytes = Buffer.from(content);
        for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
        const h = fd;
        const synced = durable
          ? (async () => {
              onFsync?.();
              await fsyncFd(h);
            })()
          : undefined;
        // Both settle before either error is thrown: the file is not closed under an fsync.
        const done = await Promise.allSettled([synced, beforeRename]);
        for (const d of done) if (d.status === 'rejected') throw d.reason;
        closeSync(fd);
        fd = undefined;
        renameSync(lockPath, path);
        renamed = true;
        if (durable) {
          onFsync?.();
          await syncDir(dirname(path));
        }
      }
      return result;
    } finally {
      if (!renamed) {
        if (fd !== undefined) {
          try {
            closeSync(fd);
          } catch {
            // Already reported, or about to be.
          }
        }
        rmSync(lockPath, { force: true });
      }
      held.delete(lockPath);
    }
  }
}

/** Creates the lock file, and its directory when missing (a branch `a/b`'s first commit). */
function openLock(lockPath: string): number {
  try {
    return openSync(lockPath, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(lockPath), { recursive: true });
    return openSync(lockPath, 'wx', 0o644);
  }
}

/** Makes a rename in `dir` durable; file systems that refuse to fsync a directory are let be. */
async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    closeSync(fd);
  }
}
