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

const N = Number(process.env.N ?? 300);
const modes = (process.env.FSYNC ?? 'both') === 'both' ? ['never', 'always'] : [process.env.FSYNC];
const builds = { old: process.argv[2], new: process.argv[3] ?? new URL('../dist/cli/main.js', import.meta.url).pathname };
if (!builds.old) throw new Error('usage: node bench/ab.mjs OLD_CLI [NEW_CLI]');
const enc = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'datakit-ab-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'ab', GIT_AUTHOR_EMAIL: 'ab@kitbox.invalid', GIT_COMMITTER_NAME: 'ab', GIT_COMMITTER_EMAIL: 'ab@kitbox.invalid' };
const git = (gitdir, args, input) => execFileSync('git', ['--git-dir', gitdir, ...args], { input, encoding: 'utf8', env }).trim();
const bigPath = (i) => `d${String(i % 100).padStart(2, '0')}/f${String((i * 7) % 100).padStart(2, '0')}`;
const TICK = 1000 / 100; // ms per clock tick (USER_HZ)

function importBigTree(gitdir) {
  const lines = ['commit refs/heads/big', 'committer ab <ab@kitbox.invalid> 1700000000 +0000', 'data 4', 'big', ''];
  for (let d = 0; d < 100; d++) {
    for (let f = 0; f < 100; f++) {
      const p = `d${String(d).padStart(2, '0')}/f${String(f).padStart(2, '0')}`;
      const body = `initial ${p}\n`;
      lines.push(`M 100644 inline ${p}`, `data ${Buffer.byteLength(body)}`, body);
    }
  }
  git(gitdir, ['fast-import', '--quiet'], `${lines.join('\n')}\n`);
}

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK;
};

const children = new Set();
async function start(name, cli, fsync) {
  const gitdir = join(dir, `${name}-${fsync}.git`);
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  importBigTree(gitdir);
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
  const commit = async (branch, t, path, data) => {
    const tx = `branch/${branch}/transactions/${t}`;
    await s.mkdir({ path: tx });
    await s.writeFile({ path: `${tx}/rw/${path}`, data: enc.encode(data) });
    await s.writeFile({ path: `${tx}/ctl`, data: enc.encode('commit') });
  };
  await s.mkdir({ path: 'branch/master' });
  await commit('master', 'warm', 'file', 'warm\n');
  await commit('big', 'warm', bigPath(N), 'warm\n');
  return {
    small: (i) => commit('master', `s${i}`, 'file', `${i}\n`),
    big: (i) => commit('big', `b${i}`, bigPath(i), `changed ${i}\n`),
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
