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

/** The git CLI fetcher (needs `git` on PATH). */
export function gitFetcher({ timeoutMs = 120_000 }: { timeoutMs?: number } = {}): Fetcher {
  return async ({ gitdir, url, branch, ref }) => {
    if (url.startsWith('-')) throw new FsError('EINVAL', `error: cannot fetch ${url}`);
    try {
      await git(gitdir, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', url, `+refs/heads/${branch}:${ref}`], timeoutMs);
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '');
      if (/couldn't find remote ref/i.test(stderr)) throw new FsError('ENOENT', 'error: no head to fetch');
      throw new FsError('EIO', `error: cannot fetch ${url}`, { stderr: stderr.slice(0, 4096) });
    }
    return (await git(gitdir, ['rev-parse', '--verify', `${ref}^{commit}`], timeoutMs)).trim();
  };
}
