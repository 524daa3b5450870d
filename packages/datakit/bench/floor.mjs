// The floor of the 1-file row: how fast can any Node process behind 9P commit, as the
// bench's client drives it? `node bench/floor.mjs` (N commits per tool, default 1000).
//
// `floor` is the cheapest server that still does a datakit commit's file work: a
// hand-rolled 9P2000.L responder (canned replies, no checks, no tree, no watchers) that,
// on the write of `commit` to a ctl file, hashes the blob, a one-entry tree and the commit,
// writes them as one pack and its idx (each through a temporary name and a rename, as
// datakit does), reads the ref and moves it with git's lock file and a rename. It fsyncs
// nothing (the like-for-like `--fsync=never` row). The built `datakit serve
// --fsync=never` and es-git (libgit2 in this process, as bench/run.mjs drives it) take
// turns with it in blocks of 10 commits; the same p9p client (`pipeline`) drives both
// servers. Prints ms a commit, commits/s and each server's CPU a commit, then the ratios.
// The floor's repository must pass `git fsck --strict`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, Session } from '@kitbox/p9p';
import { encodePack, packEntry } from '../dist/store/pack.js';
const N = Number(process.env.N ?? 1000);
const dir = process.argv[2] === 'serve' ? '' : fs.mkdtempSync(join(tmpdir(), 'datakit-floor-'));
const enc = new TextEncoder();

// ---- minimal server (in a child process: same shape as the real one) ----
if (process.argv[2] === 'serve') {
  const gitdir = process.argv[3];
  const sock = process.argv[4];
  const refPath = join(gitdir, 'refs/heads/master');
  const packDir = join(gitdir, 'objects/pack');
  let tmpN = 0;
  const oidOf = (type, content) => createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
  const writeWhole = (path, data) => {
    const tmp = join(packDir, `tmp_obj_floor_${tmpN++}`);
    const fd = fs.openSync(tmp, 'wx', 0o444);
    fs.writeSync(fd, data);
    fs.closeSync(fd);
    fs.renameSync(tmp, path);
  };
  const commit = (data) => {
    let parent;
    try { parent = fs.readFileSync(refPath, 'latin1').trim(); } catch {}
    const blob = Buffer.from(data);
    const boid = oidOf('blob', blob);
    const tree = Buffer.concat([Buffer.from('100644 file\0'), Buffer.from(boid, 'hex')]);
    const toid = oidOf('tree', tree);
    const now = Math.floor(Date.now() / 1000);
    const c = Buffer.from(`tree ${toid}\n${parent ? `parent ${parent}\n` : ''}author a <a@b> ${now} +0000\ncommitter a <a@b> ${now} +0000\n\nmsg\n`);
    const coid = oidOf('commit', c);
    const { name, pack, idx } = encodePack([packEntry(boid, 'blob', blob, 1), packEntry(toid, 'tree', tree, 1), packEntry(coid, 'commit', c, 1)]);
    writeWhole(join(packDir, `${name}.pack`), pack);
    writeWhole(join(packDir, `${name}.idx`), idx);
    const lock = `${refPath}.lock`;
    const fd = fs.openSync(lock, 'wx', 0o644);
    fs.writeSync(fd, `${coid}\n`);
    fs.closeSync(fd);
    fs.renameSync(lock, refPath);
  };
  const qid = (b, off, type) => { b[off] = type; b.writeUInt32LE(0, off + 1); b.writeBigUInt64LE(BigInt(off), off + 5); };
  const fids = new Map();
  const srv = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const out = [];
      while (buf.length >= 4) {
        const size = buf.readUInt32LE(0);
        if (buf.length < size) break;
        const m = buf.subarray(0, size);
        buf = buf.subarray(size);
        const type = m[4], tag = m.readUInt16LE(5);
        let r;
        const mk = (rt, len) => { const b = Buffer.alloc(7 + len); b.writeUInt32LE(7 + len, 0); b[4] = rt; b.writeUInt16LE(tag, 5); return b; };
        const str = (off) => { const l = m.readUInt16LE(off); return [m.toString('utf8', off + 2, off + 2 + l), off + 2 + l]; };
        switch (type) {
          case 100: { const [v] = str(11); r = mk(101, 4 + 2 + v.length); r.writeUInt32LE(m.readUInt32LE(7), 7); r.writeUInt16LE(v.length, 11); r.write(v, 13); break; }
          case 104: fids.set(m.readUInt32LE(7), []); r = mk(105, 13); qid(r, 7, 0x80); break;
          case 110: {
            const fid = m.readUInt32LE(7), nf = m.readUInt32LE(11), n = m.readUInt16LE(15);
            const path = [...(fids.get(fid) ?? [])];
            let off = 17;
            for (let i = 0; i < n; i++) { const [w, o] = str(off); path.push(w); off = o; }
            fids.set(nf, path);
            r = mk(111, 2 + 13 * n); r.writeUInt16LE(n, 7);
            for (let i = 0; i < n; i++) qid(r, 9 + 13 * i, i === n - 1 && (path.at(-1) === 'file' || path.at(-1) === 'ctl') ? 0 : 0x80);
            break;
          }
          case 12: r = mk(13, 17); qid(r, 7, 0); r.writeUInt32LE(0, 20); break;
          case 72: r = mk(73, 13); qid(r, 7, 0x80); break;
          case 118: {
            const fid = m.readUInt32LE(7), count = m.readUInt32LE(19);
            const path = fids.get(fid);
            if (path.at(-1) === 'ctl') commit(fids.lastData ?? 'x');
            else fids.lastData = m.subarray(23, 23 + count).toString();
            r = mk(119, 4); r.writeUInt32LE(count, 7); break;
          }
          case 120: fids.delete(m.readUInt32LE(7)); r = mk(121, 0); break;
          default: r = mk(7, 4); r.writeUInt32LE(95, 7);
        }
        out.push(r);
      }
      if (out.length === 1) s.write(out[0]); else if (out.length) s.write(Buffer.concat(out));
    });
  });
  srv.listen(sock, () => process.stderr.write('serving\n'));
} else {
  const children = [];
  const stat = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) * 10 + Number(f[12]) * 10; };
  const start = async (name, args) => {
    const gitdir = join(dir, `${name}.git`);
    execFileSync('git', ['init', '-q', '--bare', gitdir]);
    fs.mkdirSync(join(gitdir, 'objects/pack'), { recursive: true });
    const sock = join(dir, `${name}.sock`);
    const child = spawn(process.execPath, args(gitdir, sock), { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    await new Promise((res) => { let e = ''; child.stderr.on('data', (d) => { e += d; if (e.includes('serving')) res(); }); });
    const s = await Session.connect({ stream: await dial({ address: `unix!${sock}` }), pipeline: true });
    if (name === 'datakit') { await s.mkdir({ path: 'branch/master' }); }
    const commit = async (i) => {
      const tx = `branch/master/transactions/s${i}`;
      await s.mkdir({ path: tx });
      await s.writeFile({ path: `${tx}/rw/file`, data: enc.encode(`${i}\n`) });
      await s.writeFile({ path: `${tx}/ctl`, data: enc.encode('commit') });
    };
    return { commit, cpu: () => stat(child.pid), gitdir };
  };
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const tools = {
    floor: await start('floor', (g, s) => [new URL(import.meta.url).pathname, 'serve', g, s]),
    datakit: await start('datakit', (g, s) => [new URL('../dist/cli/main.js', import.meta.url).pathname, 'serve', '--git', g, '--listen', `unix:${s}`, '--fsync=never']),
  };
  // es-git
  const lib = await import('es-git');
  const work = join(dir, 'es');
  execFileSync('git', ['init', '-q', '-b', 'master', work]);
  const repo = await lib.openRepository(work);
  const index = repo.index();
  const who = { name: 'bench', email: 'bench@kitbox.invalid' };
  let parent;
  tools['es-git'] = { commit: async (i) => {
    fs.writeFileSync(join(work, 'file'), `${i}\n`);
    index.addPath('file');
    const tree = repo.getTree(index.writeTree());
    parent = repo.commit(tree, `c${i}`, { updateRef: 'refs/heads/master', author: who, committer: who, parents: parent ? [parent] : [] });
  }, cpu: () => 0 };
  // Warm-up (the first commit on each makes `file`).
  for (const t of Object.values(tools)) for (let i = 0; i < 50; i++) await t.commit(i);
  const ms = {}, cpu = {};
  for (const k of Object.keys(tools)) { ms[k] = 0; cpu[k] = 0; }
  for (let at = 0; at < N; at += 10) {
    const order = Object.keys(tools);
    if ((at / 10) % 2) order.reverse();
    for (const k of order) {
      const t = tools[k]; const c0 = t.cpu(); const t0 = performance.now();
      for (let i = at; i < at + 10; i++) await t.commit(100 + i);
      ms[k] += performance.now() - t0; cpu[k] += t.cpu() - c0;
    }
  }
  for (const k of Object.keys(tools)) console.log(`${k.padEnd(8)} ${(ms[k] / N).toFixed(3)} ms/commit  ${((1000 * N) / ms[k]).toFixed(0)}/s${k === 'es-git' ? '' : `  server CPU ${(cpu[k] / N).toFixed(3)} ms/commit`}`);
  const rate = (k) => N / ms[k];
  console.log(`floor/es-git ${(rate('floor') / rate('es-git')).toFixed(2)}x  datakit/es-git ${(rate('datakit') / rate('es-git')).toFixed(2)}x  datakit/floor ${(rate('datakit') / rate('floor')).toFixed(2)}x`);
  execFileSync('git', ['--git-dir', tools.floor.gitdir, 'fsck', '--strict', '--no-dangling'], { stdio: 'ignore' });
  console.log(`floor's repository: git fsck --strict clean, ${execFileSync('git', ['--git-dir', tools.floor.gitdir, 'rev-list', '--count', 'master']).toString().trim()} commits on master`);
  process.exit(0);
}
