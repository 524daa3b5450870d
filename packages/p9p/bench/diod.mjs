// p9p's server (LocalFs, run as `p9p serve` in its own process) against diod, both
// exporting the same temporary folder over loopback TCP and driven by the same p9p
// client in the same run. Prints a markdown table with ratios p9p/diod.
//
//   node bench/diod.mjs [--mib 256] [--seconds 3] [--repeat 1] [--warmup 1]     (after the build)
//
// Before any figure is measured, every figure is run once untimed on both servers (32 MiB,
// 0.5 s): the servers are long-running processes, and a fresh p9p server otherwise pays
// V8's compilation inside the first row measured (--warmup 0 measures from cold).
//
// With --repeat N every figure is measured N times (the servers taking turns to go
// first) and the median is printed. Besides throughput, the CPU time each server
// process used (user + system, all threads, from /proc/PID/stat) is printed per
// MiB or per op: on a machine shared with other jobs it moves far less than
// throughput does.
//
// Sequential read/write: one 256 MiB file, one request in flight (each Twrite/Tread
// carries msize - 24 bytes). Small files: 4 KiB files, op = walk + lopen + read +
// clunk, or stat = walk + getattr + clunk, from 1 and 16 sessions at once.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.mjs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, dial, P9_DOTL_RDONLY, P9_DOTL_WRONLY, P9_DOTL_TRUNC } from '../dist/index.js';

const DIOD = '/usr/sbin/diod';
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = arg('mib', 256);
const SECONDS = arg('seconds', 3);
const REPEAT = arg('repeat', 1);
const WARMUP = arg('warmup', 1);
const SMALL_FILES = 1000;
/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const HZ = 100;

/** CPU milliseconds the process has used (user + system, all its threads). */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function waitForPort(port) {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      (await dial({ address: `tcp!127.0.0.1!${port}` })).destroy();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function start(kind, dir) {
  const port = await freePort();
  const child =
    kind === 'diod'
      ? spawn(DIOD, ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-U', 'root', '-S', '-L', 'stderr'], { stdio: 'ignore' })
      : spawn(process.execPath, [...(process.env.P9P_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.P9P_PROF] : []), new URL('../dist/cli/main.js', import.meta.url).pathname, 'serve', dir, '--listen', `tcp!127.0.0.1!${port}`], { stdio: 'ignore' });
  await waitForPort(port);
  return { port, pid: child.pid, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

const connect = (port, msize, dir) => dial({ address: `tcp!127.0.0.1!${port}` }).then((stream) => Session.connect({ stream, msize, aname: dir, uname: 'root', nUname: 0 }));

async function seqWrite(port, dir, msize, path, mib = MIB) {
  const s = await connect(port, msize, dir);
  const buf = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  const f = await s.create({ path, flags: P9_DOTL_WRONLY | P9_DOTL_TRUNC, mode: 0o644 }).catch(() => s.open({ path, flags: P9_DOTL_WRONLY | P9_DOTL_TRUNC }));
  const t0 = performance.now();
  for (let off = 0; off < mib << 20; off += buf.length) await f.write({ offset: off, data: buf });
  const ms = performance.now() - t0;
  await f.close();
  await s.close();
  return { rate: mib / (ms / 1000), units: mib };
}

async function seqRead(port, dir, msize, path, mib = MIB) {
  const s = await connect(port, msize, dir);
  const f = await s.open({ path, flags: P9_DOTL_RDONLY });
  let total = 0;
  const t0 = performance.now();
  for (;;) {
    const d = await f.read({ offset: total, count: 1 << 20 });
    if (d.length === 0) break;
    total += d.length;
  }
  const ms = performance.now() - t0;
  await f.close();
  await s.close();
  if (total !== mib << 20) throw new Error(`read ${total} bytes`);
  return { rate: mib / (ms / 1000), units: mib };
}

async function smallOps(port, dir, sessions, op, seconds = SECONDS) {
  const ss = await Promise.all(Array.from({ length: sessions }, () => connect(port, 131072, dir)));
  let ops = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    ss.map(async (s, k) => {
      for (let i = k; performance.now() < until; i += sessions) {
        const path = `small/f${i % SMALL_FILES}`;
        if (op === 'open') {
          const f = await s.open({ path, flags: P9_DOTL_RDONLY });
          const d = await f.read({ offset: 0, count: 4096 });
          if (d.length !== 4096) throw new Error('short read');
          await f.close();
        } else {
          await s.stat({ path });
        }
        ops++;
      }
    }),
  );
  await Promise.all(ss.map((s) => s.close()));
  return { rate: ops / seconds, units: ops };
}

if (!existsSync(DIOD)) {
  console.log(`diod comparison skipped: ${DIOD} is absent (apt-get install diod)`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'p9p-bench-'));
  try {
    mkdirSync(join(dir, 'small'));
    const four = new Uint8Array(4096).fill(7);
    for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(dir, 'small', `f${i}`), four);
    const rows = [];
    const cases = [];
    for (const msize of [128 * 1024, 1024 * 1024]) {
      cases.push({ name: `sequential write, msize ${msize / 1024} KiB (MB/s)`, per: 'ms/MiB', run: (p, s, warm) => seqWrite(p, dir, msize, `big-${s}`, warm ? 32 : MIB) });
      cases.push({ name: `sequential read, msize ${msize / 1024} KiB (MB/s)`, per: 'ms/MiB', run: (p, s, warm) => seqRead(p, dir, msize, `big-${s}`, warm ? 32 : MIB) });
    }
    for (const n of [1, 16]) {
      cases.push({ name: `walk+open+read 4 KiB+clunk, ${n} session${n > 1 ? 's' : ''} (ops/s)`, per: 'us/op', run: (p, _s, warm) => smallOps(p, dir, n, 'open', warm ? 0.5 : SECONDS) });
      cases.push({ name: `stat (walk+getattr+clunk), ${n} session${n > 1 ? 's' : ''} (ops/s)`, per: 'us/op', run: (p, _s, warm) => smallOps(p, dir, n, 'stat', warm ? 0.5 : SECONDS) });
    }
    const servers = { p9p: await start('p9p', dir), diod: await start('diod', dir) };
    if (WARMUP) for (const c of cases) for (const who of ['p9p', 'diod']) await c.run(servers[who].port, who, true);
    let turn = 0;
    for (const c of cases) {
      const got = { p9p: { rate: [], cpu: [] }, diod: { rate: [], cpu: [] } };
      for (let k = 0; k < REPEAT; k++) {
        // Alternate which server goes first, so page-cache warmth and noise are shared.
        for (const who of turn++ % 2 === 0 ? ['p9p', 'diod'] : ['diod', 'p9p']) {
          const before = cpuMs(servers[who].pid);
          const r = await c.run(servers[who].port, who);
          const used = cpuMs(servers[who].pid) - before;
          got[who].rate.push(r.rate);
          got[who].cpu.push(c.per === 'us/op' ? (used * 1000) / r.units : used / r.units);
        }
      }
      const row = { name: c.name, per: c.per };
      for (const who of ['p9p', 'diod']) row[who] = { rate: median(got[who].rate), cpu: median(got[who].cpu) };
      rows.push(row);
      const list = (xs, d) => xs.map((x) => x.toFixed(d)).join(' ');
      console.error(`${c.name}: p9p ${list(got.p9p.rate, 0)}, diod ${list(got.diod.rate, 0)}; cpu ${c.per} p9p ${list(got.p9p.cpu, 2)}, diod ${list(got.diod.cpu, 2)}`);
    }
    await servers.p9p.stop();
    await servers.diod.stop();
    console.log(`\np9p server (LocalFs) vs diod, same p9p client, loopback TCP; node ${process.version}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 16)}Z${REPEAT > 1 ? `, medians of ${REPEAT}` : ''}${WARMUP ? ', after an untimed warm-up pass' : ', from cold (--warmup 0)'}`);
    console.log('| figure | p9p | diod | p9p/diod | server CPU p9p | server CPU diod |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    const cpu = (x, per) => `${per === 'us/op' ? x.toFixed(0) : x.toFixed(2)} ${per}`;
    for (const r of rows) {
      console.log(`| ${r.name} | ${r.p9p.rate.toFixed(0)} | ${r.diod.rate.toFixed(0)} | ${(r.p9p.rate / r.diod.rate).toFixed(2)} | ${cpu(r.p9p.cpu, r.per)} | ${cpu(r.diod.cpu, r.per)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
