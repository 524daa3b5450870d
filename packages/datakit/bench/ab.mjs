// Two builds of `datakit serve` side by side: `node bench/ab.mjs OLD_CLI [NEW_CLI]` (NEW_CLI
// defaults to this package's dist/cli/main.js). Each server gets its own repository (a
// 1-file branch and the bench's 10,000-file branch); one client each commits as
// bench/run.mjs does (mkdir transactions/<t>, write rw/<file>, write `commit` to ctl, p9p's
// `pipeline`), the two taking turns in blocks of 10 commits. Per row: ms a commit (wall)
// and the server's CPU a commit (user + system, from /proc/<pid>/stat); `git fsck --strict`
// after. Environment: N (commits per row and build, default 300), FSYNC (`always`, `never`
// or `both`, default both).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, Session } from '@kitbox/p9p';
import { datakitCommits, importBigTree } from './shared.mjs';

const N = Number(process.env.N ?? 300);
const modes = (process.env.FSYNC ?? 'both') === 'both' ? ['never', 'always'] : [process.env.FSYNC];
const builds = { old: process.argv[2], new: process.argv[3] ?? new URL('../dist/cli/main.js', import.meta.url).pathname };
if (!builds.old) throw new Error('usage: node bench/ab.mjs OLD_CLI [NEW_CLI]');
const dir = mkdtempSync(join(tmpdir(), 'datakit-ab-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'ab', GIT_AUTHOR_EMAIL: 'ab@kitbox.invalid', GIT_COMMITTER_NAME: 'ab', GIT_COMMITTER_EMAIL: 'ab@kitbox.invalid' };
const git = (gitdir, args, input) => execFileSync('git', ['--git-dir', gitdir, ...args], { input, encoding: 'utf8', env }).trim();
const TICK = 1000 / 100; // ms per clock tick (USER_HZ)


const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK;
};

const children = new Set();
async function start(name, cli, fsync) {
  const gitdir = join(dir, `${name}-${fsync}.git`);
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  importBigTree(git, gitdir, 'big');
  const sock = join(dir, `${name}-${fsync}.sock`);
  const child = spawn(process.execPath, [cli, 'serve', '--git', gitdir, '--listen', `unix:${sock}`, `--fsync=${fsync}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('serving')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`${name} exited ${c}: ${err}`)));
  });
  const s = await Session.connect({ stream: await dial({ address: `unix!${sock}` }), pipeline: true });
  await s.mkdir({ path: 'branch/master' });
  const { small, big } = await datakitCommits(s, N);
  return {
    small,
    big,
    cpu: () => cpuMs(child.pid),
    async close() {
      await s.close();
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      git(gitdir, ['fsck', '--strict', '--no-dangling']);
    },
  };
}

try {
  console.log(`| row | old: ms/commit, server CPU ms/commit | new: ms/commit, server CPU ms/commit |`);
  console.log('|---|---|---|');
  for (const fsync of modes) {
    const tools = { old: await start('old', builds.old, fsync), new: await start('new', builds.new, fsync) };
    for (const row of ['small', 'big']) {
      const ms = { old: 0, new: 0 };
      const cpu = { old: 0, new: 0 };
      for (let at = 0; at < N; at += 10) {
        for (const name of at % 20 === 0 ? ['old', 'new'] : ['new', 'old']) {
          const t = tools[name];
          const c0 = t.cpu();
          const t0 = performance.now();
          for (let i = at; i < Math.min(N, at + 10); i++) await t[row](i);
          ms[name] += performance.now() - t0;
          cpu[name] += t.cpu() - c0;
        }
      }
      const f = (name) => `${(ms[name] / N).toFixed(2)}, ${(cpu[name] / N).toFixed(2)}`;
      console.log(`| ${row === 'small' ? '1-file' : '10,000-file'}, fsync ${fsync} | ${f('old')} | ${f('new')} |`);
    }
    for (const t of Object.values(tools)) await t.close();
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
