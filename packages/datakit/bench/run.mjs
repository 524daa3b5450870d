// Benchmark for @kitbox/datakit against its peers, run by `npm run bench -w @kitbox/datakit`
// after `npm run build`. In one run:
//   commits/s, one small file written per commit, on a branch with a one-file tree and on
//   a branch with a 10,000-file tree (100 directories of 100 files; one file changes per
//   commit), made three ways:
//     datakit  9P transactions (mkdir, write rw/<file>, write `commit` to ctl) over a Unix
//              socket to the built `datakit serve` running as its own process
//     git      the git CLI's plumbing (hash-object -w, update-index, write-tree,
//              commit-tree, update-ref), one process per step, as a shell script would
//     es-git   libgit2 in this process (npm es-git): write the file, index.addPath,
//              index.writeTree, repo.commit with updateRef
//   watch latency: a head.live reader on another connection, per commit: from the ctl
//   write to the reader's wake-up (includes the commit), and from the commit's reply to
//   the wake-up (negative: the reader was told first); and from starting `git update-ref`
//   (the git CLI as an outside writer: the server sees it through its watch on refs/heads,
//   or failing that its 1 s poll) to the wake-up.
// The three take turns in blocks of 10 commits, so that a shared machine's changing load
// falls on all of them alike; each is timed over its own blocks only.
// Environment: N (commits per row, default 200), WATCH (watched commits, default 200),
// WATCH_GIT (watched git CLI commits, default 10), DATAKIT_CLI (see below),
// PROF=DIR writes a V8 CPU profile of the datakit server into DIR (--cpu-prof).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, P9_DOTL_RDONLY, Session } from '@kitbox/p9p';
import { bigPath, datakitCommits, importBigTree as importBig } from './shared.mjs';

const N = Number(process.env.N ?? 200);
const WATCH = Number(process.env.WATCH ?? 200);
const WATCH_GIT = Number(process.env.WATCH_GIT ?? 10);
const PROF = process.env.PROF;
const PIPELINE = process.env.PIPELINE !== '0'; // PIPELINE=0: the committing client waits for each reply
const enc = new TextEncoder();
// DATAKIT_CLI: another build's dist/cli/main.js (to compare builds in one run).
const cli = process.env.DATAKIT_CLI ?? new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'datakit-bench-'));
const sig = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@kitbox.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@kitbox.invalid' };
const env = { ...process.env, ...sig };
const git = (gitdir, args, input, extraEnv = {}) =>
  execFileSync('git', ['--git-dir', gitdir, ...args], { input, encoding: 'utf8', env: { ...env, ...extraEnv } }).trim();
const gitInit = (...args) => execFileSync('git', ['init', '-q', ...args], { env });
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const importBigTree = (gitdir, branch) => importBig(git, gitdir, branch);

/** Every server started, so that a run that fails midway leaves none behind. */
const servers = new Set();

function startServer(gitdir, sock, fsync) {
  const args = [...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []), cli, 'serve', '--git', gitdir, '--listen', `unix:${sock}`, ...(fsync === 'never' ? ['--fsync=never'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.add(child);
  child.once('exit', () => servers.delete(child));
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d.toString();
      if (err.includes('serving')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`datakit serve exited ${code}: ${err}`)));
  });
}

// ---- datakit --------------------------------------------------------------------------

/** `fsync`: 'always' (the server's default) or 'never' (`serve --fsync=never`). */
async function datakit(fsync) {
  const gitdir = join(dir, `dk-${fsync}.git`);
  gitInit('--bare', gitdir);
  importBigTree(gitdir, 'big');
  const sock = join(dir, `dk-${fsync}.sock`);
  const server = await startServer(gitdir, sock, fsync);
  // As DatakitClient does: each file operation's requests sent at once (p9p's `pipeline`).
  const a = await Session.connect({ stream: await dial({ address: `unix!${sock}` }), pipeline: PIPELINE });
  const b = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
  await a.mkdir({ path: 'branch/master' });
  const { small, big } = await datakitCommits(a, N);
  return {
    small,
    big,
    /** Watch latencies: b reads head.live while a (or the git CLI) commits. */
    async watch() {
      const live = await b.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
      let off = (await live.read({ offset: 0, count: 100 })).length;
      const fromSend = [];
      const fromAck = [];
      for (let i = 0; i < WATCH; i++) {
        const tx = `branch/master/transactions/w${i}`;
        await a.mkdir({ path: tx });
        await a.writeFile({ path: `${tx}/rw/file`, data: enc.encode(`watched ${i}\n`) });
        let woke = 0;
        const seen = live.read({ offset: off, count: 100 }).then((d) => {
          woke = performance.now();
          return d;
        });
        const sent = performance.now();
        await a.writeFile({ path: `${tx}/ctl`, data: enc.encode('commit') });
        const acked = performance.now();
        off += (await seen).length;
        fromSend.push(woke - sent);
        fromAck.push(woke - acked);
      }
      // Outside writers: the git CLI moves master; the server sees it through its watch
      // on refs/heads (or, failing that, its poll).
      const fromGit = [];
      let parent = git(gitdir, ['rev-parse', 'master']);
      for (let i = 0; i < WATCH_GIT; i++) {
        const blob = git(gitdir, ['hash-object', '-w', '--stdin'], `outside ${i}\n`);
        const tree = git(gitdir, ['mktree'], `100644 blob ${blob}\tfile\n`);
        const commit = git(gitdir, ['commit-tree', tree, '-p', parent, '-m', `outside ${i}`]);
        let woke = 0;
        const seen = live.read({ offset: off, count: 100 }).then((d) => {
          woke = performance.now();
          return d;
        });
        const moved = performance.now();
        git(gitdir, ['update-ref', 'refs/heads/master', commit, parent]);
        off += (await seen).length;
        fromGit.push(woke - moved);
        parent = commit;
      }
      await live.close();
      return { fromSend, fromAck, fromGit };
    },
    async close() {
      await a.close();
      await b.close();
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await gone;
      git(gitdir, ['fsck', '--strict', '--no-dangling']);
    },
  };
}

// ---- git CLI --------------------------------------------------------------------------

function gitCli() {
  const gitdir = join(dir, 'git.git');
  gitInit('--bare', gitdir);
  const bigHead = importBigTree(gitdir, 'big');
  const smallIndex = join(dir, 'git-small.index');
  const bigIndex = join(dir, 'git-big.index');
  git(gitdir, ['read-tree', 'big'], undefined, { GIT_INDEX_FILE: bigIndex });
  const parents = { master: undefined, big: bigHead };
  const commit = (branch, index, path, data, i) => {
    const ienv = { GIT_INDEX_FILE: index };
    const parent = parents[branch];
    const blob = git(gitdir, ['hash-object', '-w', '--stdin'], data);
    git(gitdir, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], undefined, ienv);
    const tree = git(gitdir, ['write-tree'], undefined, ienv);
    const c = git(gitdir, ['commit-tree', tree, '-m', `c${i}`, ...(parent ? ['-p', parent] : [])]);
    git(gitdir, ['update-ref', `refs/heads/${branch}`, c, ...(parent ? [parent] : [])]);
    parents[branch] = c;
  };
  commit('master', smallIndex, 'file', 'warm\n', 'warm');
  commit('big', bigIndex, bigPath(N), 'warm\n', 'warm');
  return {
    small: (i) => commit('master', smallIndex, 'file', `${i}\n`, i),
    big: (i) => commit('big', bigIndex, bigPath(i), `changed ${i}\n`, i),
    close: () => git(gitdir, ['fsck', '--strict', '--no-dangling']),
  };
}

// ---- es-git (libgit2 in process) -----------------------------------------------------

async function esGit() {
  let lib;
  try {
    lib = await import('es-git');
  } catch (err) {
    return { error: `es-git did not load: ${err.message.split('\n')[0]}` };
  }
  const who = { name: 'bench', email: 'bench@kitbox.invalid' };
  // libgit2's index works from a work tree: one with one file, one with the 10k tree.
  const smallWork = join(dir, 'es-small');
  gitInit('-b', 'master', smallWork);
  const bigWork = join(dir, 'es-big');
  gitInit('-b', 'big', bigWork);
  importBigTree(join(bigWork, '.git'), 'big');
  git(join(bigWork, '.git'), ['read-tree', 'big']);
  for (let d = 0; d < 100; d++) mkdirSync(join(bigWork, `d${String(d).padStart(2, '0')}`));
  const open = async (work, branch) => {
    const repo = await lib.openRepository(work);
    const index = repo.index();
    let parent = repo.findReference(`refs/heads/${branch}`)?.target() ?? undefined;
    return (path, data, i) => {
      writeFileSync(join(work, path), data);
      index.addPath(path);
      const tree = repo.getTree(index.writeTree());
      parent = repo.commit(tree, `c${i}`, { updateRef: `refs/heads/${branch}`, author: who, committer: who, parents: parent ? [parent] : [] });
    };
  };
  const small = await open(smallWork, 'master');
  const big = await open(bigWork, 'big');
  small('file', 'warm\n', 'warm');
  big(bigPath(N), 'warm\n', 'warm');
  return {
    small: (i) => small('file', `${i}\n`, i),
    big: (i) => big(bigPath(i), `changed ${i}\n`, i),
    close: () => {
      git(join(bigWork, '.git'), ['fsck', '--strict', '--no-dangling']);
      git(join(smallWork, '.git'), ['fsck', '--strict', '--no-dangling']);
    },
  };
}

// ---- run ------------------------------------------------------------------------------

const BLOCK = 10;
try {
  const dk = await datakit('always');
  const tools = { datakit: dk, 'datakit-nofsync': await datakit('never'), git: gitCli() };
  const eg = await esGit();
  if (!eg.error) tools['es-git'] = eg;
  const rate = { small: {}, big: {} };
  for (const row of ['small', 'big']) {
    const ms = {};
    for (let start = 0; start < N; start += BLOCK) {
      for (const [name, tool] of Object.entries(tools)) {
        const t0 = performance.now();
        for (let i = start; i < Math.min(N, start + BLOCK); i++) await tool[row](i);
        ms[name] = (ms[name] ?? 0) + performance.now() - t0;
      }
    }
    for (const name of Object.keys(tools)) rate[row][name] = N / (ms[name] / 1000);
  }
  const w = await dk.watch();
  for (const tool of Object.values(tools)) await tool.close();
  const f = (x) => (x === undefined ? '-' : x.toFixed(1));
  const r = (a, b) => (b === undefined ? '-' : `${(a / b).toFixed(2)}x`);
  console.log(`datakit bench: N=${N} commits per row, ${WATCH} watched commits; ${cpus().length} CPUs; node ${process.version}; ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}`);
  if (eg.error) console.log(eg.error);
  console.log('');
  // datakit fsyncs each commit's objects and ref before acknowledging it; neither peer
  // fsyncs anything by default (git's core.fsync leaves out loose objects and refs,
  // libgit2 does not fsync unless asked): the --fsync=never rows compare like for like.
  console.log('| commits/s | datakit | git CLI | es-git (libgit2) | datakit/git | datakit/es-git |');
  console.log('|---|---|---|---|---|---|');
  for (const [row, label] of [['small', '1-file tree'], ['big', '10,000-file tree, 1 file changed']]) {
    const x = rate[row];
    for (const [tool, how] of [['datakit', 'fsync (default)'], ['datakit-nofsync', '--fsync=never']]) {
      console.log(`| ${label}, datakit ${how} | ${f(x[tool])} | ${f(x.git)} | ${f(x['es-git'])} | ${r(x[tool], x.git)} | ${r(x[tool], x['es-git'])} |`);
    }
  }
  console.log('');
  console.log('| head.live wake-up (ms), datakit with fsync | p50 | p99 |');
  console.log('|---|---|---|');
  console.log(`| from the ctl commit write (includes the commit) | ${pct(w.fromSend, 50).toFixed(2)} | ${pct(w.fromSend, 99).toFixed(2)} |`);
  console.log(`| from the commit's reply (negative: the watcher heard first) | ${pct(w.fromAck, 50).toFixed(2)} | ${pct(w.fromAck, 99).toFixed(2)} |`);
  if (w.fromGit.length > 0) {
    console.log(`| from starting \`git update-ref\` (includes that process; ${w.fromGit.length} samples) | ${pct(w.fromGit, 50).toFixed(1)} | ${pct(w.fromGit, 99).toFixed(1)} |`);
  }
} finally {
  for (const s of servers) s.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
