// How close a Node 9P server can get to diod on one session, on this machine: the same p9p
// client drives, one request at a time as a Linux guest's v9fs does, three servers taking turns
// (the first to go rotating):
//
//   canned   a Node process that answers from constants: no file system, no p9p code (a
//            frame loop over `net`, one write per batch of replies). Its rate is the ceiling
//            of any Node server here: what is left once the file system's work is taken away.
//   p9p      `p9p serve DIR` (LocalFs), as bench/diod.mjs runs it
//   diod     `diod -e DIR`, as bench/diod.mjs runs it
//
// Ops as bench/diod.mjs's 1-session rows: walk+lopen+read 4 KiB+clunk, and walk+getattr+clunk.
// Server CPU per op from /proc/PID/stat (user / system).
//
//   node bench/floor.mjs [--seconds 3] [--rounds 3]      (after the build; needs diod)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, dial, P9_DOTL_RDONLY } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 3);
const ROUNDS = arg('rounds', 3);
const DIOD = '/usr/sbin/diod';
const FILES = 1000;

// The canned server, run with `node -e`: Rversion, Rattach, Rwalk (a qid per name), Rlopen,
// Rread (4 KiB at offset 0, then end of file), Rgetattr, Rclunk; Rlerror(EOPNOTSUPP) otherwise.
const CANNED = `
const net = require('node:net');
const qid = Buffer.alloc(13); qid.writeUInt32LE(1, 1); qid.writeBigUInt64LE(42n, 5);
const data = Buffer.alloc(4096, 7);
const attr = Buffer.alloc(153); attr.writeBigUInt64LE(0x7ffn, 0); qid.copy(attr, 8); attr.writeUInt32LE(0o100644, 21); attr.writeBigUInt64LE(4096n, 49);
const reply = (type, tag, body) => { const b = Buffer.allocUnsafe(7 + body.length); b.writeUInt32LE(7 + body.length, 0); b[4] = type; b.writeUInt16LE(tag, 5); body.copy(b, 7); return b; };
net.createServer((s) => {
  s.setNoDelay(true);
  let acc = Buffer.alloc(0);
  s.on('error', () => {});
  s.on('data', (d) => {
    acc = acc.length > 0 ? Buffer.concat([acc, d]) : d;
    const out = [];
    while (acc.length >= 7 && acc.length >= acc.readUInt32LE(0)) {
      const size = acc.readUInt32LE(0), type = acc[4], tag = acc.readUInt16LE(5), m = acc.subarray(7, size);
      acc = acc.subarray(size);
      if (type === 100) { const b = Buffer.alloc(14); b.writeUInt32LE(m.readUInt32LE(0), 0); b.writeUInt16LE(8, 4); b.write('9P2000.L', 6); out.push(reply(101, tag, b)); }
      else if (type === 104) out.push(reply(105, tag, qid));
      else if (type === 110) { const n = m.readUInt16LE(8), b = Buffer.alloc(2 + 13 * n); b.writeUInt16LE(n, 0); for (let i = 0; i < n; i++) qid.copy(b, 2 + 13 * i); out.push(reply(111, tag, b)); }
      else if (type === 12) { const b = Buffer.alloc(17); qid.copy(b, 0); out.push(reply(13, tag, b)); }
      else if (type === 116) { const n = m.readBigUInt64LE(4) === 0n ? Math.min(4096, m.readUInt32LE(12)) : 0, b = Buffer.alloc(4 + n); b.writeUInt32LE(n, 0); data.copy(b, 4, 0, n); out.push(reply(117, tag, b)); }
      else if (type === 24) out.push(reply(25, tag, attr));
      else if (type === 120) out.push(reply(121, tag, Buffer.alloc(0)));
      else { const b = Buffer.alloc(4); b.writeUInt32LE(95, 0); out.push(reply(7, tag, b)); }
    }
    if (out.length > 0) s.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

function cpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(x[11]) * 10, Number(x[12]) * 10]; // ms (USER_HZ 100)
}
async function start(kind, dir) {
  const port = await freePort();
  const child =
    kind === 'canned'
      ? spawn(process.execPath, ['-e', CANNED, String(port)], { stdio: 'ignore' })
      : kind === 'diod'
        ? spawn(DIOD, ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-U', 'root', '-S', '-L', 'stderr'], { stdio: 'ignore' })
        : spawn(process.execPath, [new URL('../dist/cli/main.js', import.meta.url).pathname, 'serve', dir, '--listen', `tcp!127.0.0.1!${port}`], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      const stream = await dial({ address: `tcp!127.0.0.1!${port}` });
      const session = await Session.connect({ stream, msize: 131072, aname: dir, uname: 'root', nUname: 0 });
      return { kind, pid: child.pid, session, stop: () => (session.close().catch(() => {}), child.kill()) };
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
async function ops(session, op, seconds) {
  let n = 0;
  const until = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < until; i++) {
    const path = `small/f${i % FILES}`;
    if (op === 'open') {
      const f = await session.open({ path, flags: P9_DOTL_RDONLY });
      const d = await f.read({ offset: 0, count: 4096 });
      if (d.length !== 4096) throw new Error(`short read: ${d.length}`);
      await f.close();
    } else {
      await session.stat({ path });
    }
    n++;
  }
  return n;
}

if (!existsSync(DIOD)) {
  console.log(`skipped: ${DIOD} is absent (apt-get install diod)`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'p9p-floor-'));
const servers = [];
try {
  mkdirSync(join(dir, 'small'));
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, 'small', `f${i}`), new Uint8Array(4096).fill(7));
  for (const kind of ['canned', 'p9p', 'diod']) servers.push(await start(kind, dir));
  const rows = [];
  for (const op of ['open', 'stat']) {
    for (const s of servers) await ops(s.session, op, 0.5); // untimed warm-up
    const got = new Map(servers.map((s) => [s.kind, { n: 0, user: 0, sys: 0, rates: [] }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(k + r) % servers.length];
        const c0 = cpu(s.pid);
        const n = await ops(s.session, op, SECONDS);
        const c1 = cpu(s.pid);
        const g = got.get(s.kind);
        g.n += n;
        g.user += c1[0] - c0[0];
        g.sys += c1[1] - c0[1];
        g.rates.push(n / SECONDS);
      }
    }
    const diod = got.get('diod');
    for (const [kind, g] of got) {
      const rate = g.n / (SECONDS * ROUNDS);
      rows.push(
        `| ${op === 'open' ? 'walk+open+read 4 KiB+clunk' : 'stat (walk+getattr+clunk)'} | ${kind} | ${rate.toFixed(0)} | ${(g.n / diod.n).toFixed(2)} | ${((g.user * 1000) / g.n).toFixed(0)} / ${((g.sys * 1000) / g.n).toFixed(0)} | ${g.rates.map((x) => x.toFixed(0)).join(', ')} |`,
      );
    }
  }
  console.log(`\none session, one request at a time, loopback TCP; node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, ${ROUNDS} turns of ${SECONDS} s each`);
  console.log('| op | server | ops/s | / diod | server CPU user / system, us/op | turns |');
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const r of rows) console.log(r);
} finally {
  for (const s of servers) s.stop();
  rmSync(dir, { recursive: true, force: true });
}
