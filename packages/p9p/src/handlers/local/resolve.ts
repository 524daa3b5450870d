/*
 * Confinement: every host path LocalFs touches is reached from the root's
 * directory fd, one component at a time, never through a symlink.
 *
 * walk(5): "A walk of the name '..' in the root directory of the server is
 *   equivalent to a walk with no name elements."
 * open(2): "O_NOFOLLOW: If the trailing component (i.e., basename) of
 *   pathname is a symbolic link, then the open fails".
 * proc(5): "/proc/[pid]/fd/ ... Opening the file whose name is one of these
 *   symbolic links ... opens the file that the file descriptor refers to";
 *   a lookup *through* one continues from that directory, as openat(2) does.
 *
 * Node has no openat(2), so `/proc/self/fd/<dirfd>/<name>` stands in for
 * openat(dirfd, name): the kernel jumps to the directory the fd holds (not
 * to a path that could have been swapped since) and looks `name` up there.
 * Each directory on the way is opened O_PATH|O_DIRECTORY|O_NOFOLLOW, so a
 * component that is (or has just become) a symlink fails with ELOOP or
 * ENOTDIR instead of being followed. Paths are kept per fid as components
 * relative to the root; '..' pops one (the root's '..' is the root), which is
 * right because no symlink was ever followed to get there.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { ERRNO, errnoName } from '../../channel/errno.js';
import { RemoteError } from '../../channel/errors.js';

/** Linux's O_PATH (the same on x86-64 and arm64); Node does not export it. */
export const O_PATH = 0o10000000;
/** For a directory on the way: no read permission needed, never a symlink. */
export const DIR_STEP = O_PATH | C.O_DIRECTORY | C.O_NOFOLLOW;
/** For a node itself: its inode, without opening it for I/O or following it. */
export const NODE_REF = O_PATH | C.O_NOFOLLOW;

const NAME_MAX = 255;
export const PATH_MAX = 4096;

/*
 * Metadata calls (open of O_PATH/directory fds, fstat, lstat, close) are made
 * synchronously: on a local filesystem each takes microseconds, while a trip
 * through libuv's thread pool costs tens of them, and a walk or an open makes
 * several (measured in BENCHMARKS.md). Data (read, write, fsync) stays
 * asynchronous. The hot requests (walk, getattr, lopen, clunk) use the plain
 * functions below and stay synchronous from end to end, so they cost no
 * promise or microtask per call; the rest use these Promise-shaped wrappers.
 */
export async function openFd(path: string, flags: number, mode?: number): Promise<number> {
  return openSync(path, flags, mode);
}
export async function closeFd(fd: number): Promise<void> {
  closeSync(fd);
}
export async function fstatBig(fd: number): Promise<BigIntStats> {
  return fstatSync(fd, { bigint: true });
}
export async function lstatBig(path: string): Promise<BigIntStats> {
  return lstatSync(path, { bigint: true });
}

/**
 * lstat(2) of `name` in directory `dirFd` (openat-style; never follows `name`). A name that
 * is not there is answered with our ENOENT: Node's own error would cost a stack trace and a
 * formatted message for what a server answers all the time.
 */
export function lstatAt(dirFd: number, name: string): BigIntStats {
  const st = lstatSync(at(dirFd, name), { bigint: true, throwIfNoEntry: false });
  if (st === undefined) throw err(ERRNO.ENOENT);
  return st;
}

/** Closes an fd this module opened, ignoring a failure (nothing else can be done about it). */
export function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The fd is released by the kernel whatever close(2) answers.
  }
}

/**
 * withDir, synchronous: runs `fn` with the fd of directory `path[0..n)`
 * (each component opened O_PATH|O_DIRECTORY|O_NOFOLLOW from the root; the
 * root's own fd for n = 0), then closes what it opened.
 */
export function inDir<T>(rootFd: number, path: readonly string[], n: number, fn: (dirFd: number) => T): T {
  const dir = openDir(rootFd, path, n);
  try {
    return fn(dir ?? rootFd);
  } finally {
    if (dir !== undefined) closeQuiet(dir);
  }
}

/**
 * The fd of directory path[0..n) (undefined for n = 0: the root's own), reached
 * by opening each component O_PATH|O_DIRECTORY|O_NOFOLLOW in the one before, the
 * root's fd first. Each parent is closed once its child is open, so a request
 * holds one fd however deep its path (a client with a deep tree and many requests
 * in flight could otherwise take every fd of the process). On a failure nothing
 * stays open. O_PATH opens never block, so this is synchronous for withDir too.
 */
function openDir(rootFd: number, path: readonly string[], n: number): number | undefined {
  let cur: number | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const next = openSync(at(cur ?? rootFd, path[i]!), DIR_STEP);
      if (cur !== undefined) closeQuiet(cur);
      cur = next;
    }
    return cur;
  } catch (e) {
    if (cur !== undefined) closeQuiet(cur);
    throw e;
  }
}

export function err(errno: number, why?: string): RemoteError {
  return RemoteError.reply(errno, why === undefined ? undefined : `${errnoName(errno)}: ${why}`);
}

/** The path that stands for openat(fd, name). */
export function at(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/**
 * A name a client may create or look up in a directory: not empty, no '/',
 * no NUL, not '.' or '..', at most NAME_MAX bytes.
 */
export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw err(ERRNO.EINVAL, `bad name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > NAME_MAX) throw err(ERRNO.ENAMETOOLONG, 'name too long');
}

/**
 * Opens each directory of `path` (components under the root) in turn from
 * `rootFd`, runs `fn` with the last one's fd (the root's own for []), and
 * closes what it opened. A symlink anywhere on the way fails the call.
 */
export async function withDir<T>(rootFd: number, path: readonly string[], fn: (dirFd: number) => Promise<T>): Promise<T> {
  const dir = openDir(rootFd, path, path.length);
  try {
    return await fn(dir ?? rootFd);
  } finally {
    if (dir !== undefined) closeQuiet(dir);
  }
}

export type Kind = 'dir' | 'file' | 'symlink' | 'other';

export function kindOf(st: BigIntStats): Kind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** The same inode: what was walked is what was opened. */
export function sameFile(st: BigIntStats, ino: bigint, dev: bigint): boolean {
  return st.ino === ino && st.dev === dev;
}
