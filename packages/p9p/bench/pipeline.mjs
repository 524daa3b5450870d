// The client's `pipeline` option against p9p's server (LocalFs, run as `p9p serve` in its
// own process) over a Unix socket: each helper with and without it, one call at a time.
//
//   node bench/pipeline.mjs [--seconds 2] [--repeat 3] [--tmp /dev/shm]     (after the build)
//
// The exported folder is made under --tmp (default: the system's temporary folder); on
// tmpfs (/dev/shm) the file system's own cost (ext4 truncating a file: ~50 us of CPU) stays
// out of the figures.
// Prints, per helper, calls/s, microseconds per call, the requests each call sent and the
// round trips it waited for (replies awaited one after another: counted from the client's
// writes, a round trip being a run of writes with no reply read in between), and the
// server's CPU (user + system, /proc/PID/stat) per call. Medians of --repeat runs, the two
// modes taking turns.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, dial } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 2);
const REPEAT = arg('repeat', 3);
const HZ = 100;
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(x[11]) + Number(x[12])) * 1000) / HZ;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const TMP = (() => {
  const i = process.argv.indexOf('--tmp');
  return i > 0 ? process.argv[i + 1] : tmpdir();
})();
const dir = mkdtempSync(join(TMP, 'p9p-pipe-bench-'));
const sock = join(dir, 'sock');
const share = join(dir, 'share');
mkdirSync(share);
const child = spawn(process.execPath, [new URL('../dist/cli/main.js', import.meta.url).pathname, 'serve', share, '--listen', `unix!${sock}`], { stdio: 'ignore' });
for (let i = 0; ; i++) {
  try {
    (await dial({ address: `unix!${sock}` })).destroy();
    break;
  } catch (e) {
    if (i > 200) throw e;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A session whose socket counts frames written and round trips (runs of writes between reads). */
async function connect(pipeline) {
  const stream = await dial({ address: `unix!${sock}` });
  const count = { writes: 0, trips: 0, waiting: false };
  const write = stream.write.bind(stream);
  stream.write = (...a) => {
    count.writes++;
    if (!count.waiting) count.trips++;
    count.waiting = true;
    return write(...a);
  };
  stream.on('data', () => (count.waiting = false));
  const s = await Session.connect({ stream, msize: 131072, uname: 'root', nUname: 0, pipeline });
  return { s, count };
}

let fresh = 0;
const data1k = new Uint8Array(1024).fill(1);
const data64k = new Uint8Array(65536).fill(2);
const ops = {
  'writeFile 1 KiB (existing file)': (s, i) => s.writeFile({ path: `d/f${i % 100}`, data: data1k }),
  'writeFile 64 KiB (existing file)': (s, i) => s.writeFile({ path: `d/g${i % 100}`, data: data64k }),
  // A name never written before (each call, each mode: its own counter).
  'writeFile 1 KiB (new file)': (s) => s.writeFile({ path: `d/n${s === pip.s ? 'p' : 's'}${fresh++}`, data: data1k }),
  'readFile 1 KiB': (s, i) => s.readFile({ path: `d/f${i % 100}` }),
  'stat': (s, i) => s.stat({ path: `d/f${i % 100}` }),
  'stat (missing file: ENOENT)': (s, i) => s.stat({ path: `d/none${i % 100}` }).then(() => { throw new Error('found'); }, (e) => { if (e.code !== 'ENOENT') throw e; }),
  'mkdir + remove': async (s, i) => {
    await s.mkdir({ path: `d/m${i}` });
    await s.remove({ path: `d/m${i}` });
  },
};

const seq = await connect(false);
const pip = await connect(true);
await seq.s.mkdir({ path: 'd' });
for (let i = 0; i < 100; i++) {
  await seq.s.writeFile({ path: `d/f${i}`, data: data1k });
  await seq.s.writeFile({ path: `d/g${i}`, data: data64k });
}
const rows = [];
let turn = 0;
for (const [name, op] of Object.entries(ops)) {
  const got = { false: { rate: [], us: [], req: [], trips: [], cpu: [] }, true: { rate: [], us: [], req: [], trips: [], cpu: [] } };
  for (let k = 0; k < REPEAT; k++) {
    for (const c of turn++ % 2 === 0 ? [seq, pip] : [pip, seq]) {
      for (let i = 0; i < 50; i++) await op(c.s, i); // warm up
      const w0 = c.count.writes;
      const t0 = c.count.trips;
      const cpu0 = cpuMs(child.pid);
      let n = 0;
      const start = performance.now();
      const until = start + SECONDS * 1000;
      while (performance.now() < until) await op(c.s, n++);
      const ms = performance.now() - start;
      const g = got[String(c.s.pipeline)];
      g.rate.push((n * 1000) / ms);
      g.us.push((ms * 1000) / n);
      g.req.push((c.count.writes - w0) / n);
      g.trips.push((c.count.trips - t0) / n);
      g.cpu.push(((cpuMs(child.pid) - cpu0) * 1000) / n);
    }
  }
  rows.push({ name, seq: got.false, pip: got.true });
}
console.log(`\np9p client against p9p serve (LocalFs, folder under ${TMP}) over a Unix socket, one call at a time; node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, medians of ${REPEAT}`);
console.log('| helper | requests per call | round trips per call, without / with pipeline | us per call, without | us per call, with | server CPU us per call, without / with |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.name} | ${median(r.seq.req).toFixed(1)} / ${median(r.pip.req).toFixed(1)} | ${median(r.seq.trips).toFixed(1)} / ${median(r.pip.trips).toFixed(1)} | ${median(r.seq.us).toFixed(0)} | ${median(r.pip.us).toFixed(0)} | ${median(r.seq.cpu).toFixed(0)} / ${median(r.pip.cpu).toFixed(0)} |`);
}
await seq.s.close();
await pip.s.close();
await new Promise((r) => {
  child.once('exit', r);
  child.kill('SIGTERM');
});
rmSync(dir, { recursive: true, force: true });
