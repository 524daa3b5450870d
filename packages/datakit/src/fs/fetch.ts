/**
 * Fetching from another repository: the one host boundary `remotes/` needs, behind an
 * interface so a test (or a host without git) can give another.
 *
 * The default runs the git CLI against the served repository:
 *   git -c protocol.allow=never -c protocol.{file,git,http,https,ssh}.allow=always
 *       fetch --no-tags --no-write-fetch-head -- <url> +refs/heads/<branch>:refs/remotes/<remote>/<branch>
 * The remote-tracking ref keeps what was fetched reachable (datakit keeps no ref; a
 * `git gc` could then drop it). URLs that look like options are refused; only git's
 * ordinary transports are allowed (not `ext::`, which runs commands, nor remote helpers).
 */
import { execFile } from 'node:child_process';
import type { Oid } from '../store/store.js';
import { FsError } from './errors.js';

export interface FetchRequest {
  gitdir: string;
  url: string;
  /** The remote's branch. */
  branch: string;
  /** The local ref to fetch into (`refs/remotes/<name>/<branch>`). */
  ref: string;
}

/** Fetches `branch` from `url`; resolves with the commit fetched. */
export type Fetcher = (req: FetchRequest) => Promise<Oid>;

/** Only the ordinary transports; `ext::` (runs commands) and remote helpers are off. */
const PROTOCOLS = ['-c', 'protocol.allow=never', ...['file', 'git', 'http', 'https', 'ssh'].flatMap((p) => ['-c', `protocol.${p}.allow=always`])];

function git(gitdir: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['--git-dir', gitdir, ...PROTOCOLS, ...args],
      { timeout: timeoutMs, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout)),
    );
  });
}

/**
 * The git CLI fetcher (needs `git` on PATH). At most `maxConcurrent` git processes run at
 * once (default 4) and `maxWaiting` fetches wait for one (default 64); past that a fetch
 * fails at once with EBUSY, so clients cannot pile up processes (each may run `timeoutMs`).
 *
 * Local paths and file:// URLs are fetched (the "local paths and file:// at least"):
 * whoever can reach the server can read any repository the server's user can. That is why
 * the server listens on an owner-only Unix socket or loopback.
 */
export function gitFetcher({ timeoutMs = 120_000, maxConcurrent = 4, maxWaiting = 64 }: { timeoutMs?: number; maxConcurrent?: number; maxWaiting?: number } = {}): Fetcher {
  let running = 0;
  const waiting: Array<() => void> = [];
  const slot = async (): Promise<void> => {
    if (running < maxConcurrent) {
      running++;
      return;
    }
    if (waiting.length >= maxWaiting) throw new FsError('EBUSY', `error: ${maxConcurrent} fetches running and ${maxWaiting} waiting; try again later`);
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const done = (): void => {
    const next = waiting.shift();
    if (next !== undefined) next();
    else running--;
  };
  return async (req) => {
    if (req.url.startsWith('-')) throw new FsError('EINVAL', `error: cannot fetch ${req.url}`);
    await slot();
    try {
      return await fetchOnce(req, timeoutMs);
    } finally {
      done();
    }
  };
}

async function fetchOnce({ gitdir, url, branch, ref }: FetchRequest, timeoutMs: number): Promise<Oid> {
  try {
    await git(gitdir, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', url, `+refs/heads/${branch}:${ref}`], timeoutMs);
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    if (/couldn't find remote ref/i.test(stderr)) throw new FsError('ENOENT', 'error: no head to fetch');
    throw new FsError('EIO', `error: cannot fetch ${url}`, { stderr: stderr.slice(0, 4096) });
  }
  return (await git(gitdir, ['rev-parse', '--verify', `${ref}^{commit}`], timeoutMs)).trim();
}
