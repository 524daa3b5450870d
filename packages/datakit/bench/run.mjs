// Benchmark for @kitbox/datakit against its peer (the git CLI), run by `npm run bench -w @kitbox/datakit`
// after `npm run build`. Figures: commits/s through 9P transactions over a Unix socket (one
// file written per commit, objects fsynced before the ref moves), the same commits made with
// git plumbing commands, and how long a head.live reader on another connection takes to see a
// commit. Small N on purpose: the machine is shared.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, listen, P9_DOTL_RDONLY, Session } from '@kitbox/p9p';
import { DatakitFs } from '../dist/index.js';

const N = Number(process.env.N ?? 100);
const enc = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'datakit-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const fs = await DatakitFs.open({ gitdir: join(dir, 'dk.git') });
  const sock = join(dir, 'dk.sock');
  const server = await listen({ address: `unix!${sock}`, onConnection: (s) => void fs.serve(s) });
  const a = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
  const b = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
  await a.mkdir({ path: 'branch/master' });
  const live = await b.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
  let off = (await live.read({ offset: 0, count: 100 })).length;
  const lat = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const t = `branch/master/transactions/t${i}`;
    await a.mkdir({ path: t });
    await a.writeFile({ path: `${t}/rw/file`, data: enc.encode(`${i}\n`) });
    const seen = live.read({ offset: off, count: 100 });
    const c = performance.now();
    await a.writeFile({ path: `${t}/ctl`, data: enc.encode('commit') });
    off += (await seen).length;
    lat.push(performance.now() - c);
  }
  const dkSecs = (performance.now() - t0) / 1000;
  await live.close();
  await a.close();
  await b.close();
  server.close();

  const gitdir = join(dir, 'git.git');
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  const git = (args, input) => execFileSync('git', ['--git-dir', gitdir, ...args], { input, encoding: 'utf8' }).trim();
  const env = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
  Object.assign(process.env, env);
  let parent;
  const t1 = performance.now();
  for (let i = 0; i < N; i++) {
    const blob = git(['hash-object', '-w', '--stdin'], `${i}\n`);
    const tree = git(['mktree'], `100644 blob ${blob}\tfile\n`);
    const commit = git(['commit-tree', tree, '-m', `c${i}`, ...(parent ? ['-p', parent] : [])]);
    git(['update-ref', 'refs/heads/master', commit, ...(parent ? [parent] : [])]);
    parent = commit;
  }
  const gitSecs = (performance.now() - t1) / 1000;
  console.log(`datakit: ${N} commits through 9P transactions (unix socket): ${(N / dkSecs).toFixed(1)} commits/s`);
  console.log(`datakit: commit write -> head.live on another connection: median ${median(lat).toFixed(2)} ms (includes the commit itself)`);
  console.log(`git CLI: ${N} commits (hash-object, mktree, commit-tree, update-ref): ${(N / gitSecs).toFixed(1)} commits/s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
