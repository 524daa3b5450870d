// Where the gateway ping row's floor lies on this machine: the round trip of `busybox ping`
// (from a network namespace, 50 ms apart) to echo responders of decreasing weight, all up at
// once and taking turns (the first to go rotating), so that each round compares the same
// minutes. Needs root, busybox, slirp4netns; python3 and gcc where present.
//
//   vpnkit stack     this package's Stack on a TapLink (the bench's path: switch, gateway, echo)
//   TapLink + echo   this package's TapLink, a ten-line echo as its sink (no switch, no gateway)
//   uv_poll read(2)  no vpnkit code: koffi's uv_poll on the TAP fd, read(2) and write(2) in its callback
//   worker read(2)   no event loop: a worker thread blocked in read(2) through koffi
//   python read(2)   python3 blocked in os.read on the TAP fd
//   C read(2)        a C program blocked in read(2) (compiled here with gcc)
//   slirp4netns      its gateway, 10.0.2.2
//
// The hand-written responders answer an IPv4 echo request by swapping the addresses in a copy
// (checksum adjusted incrementally); the namespace has a static ARP entry for them.
//
//   node bench/ping-floor.mjs      PING_ROUNDS=3  PING_COUNT=40
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import koffi from 'koffi';

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) {
  console.error('build first: npx nx build vpnkit');
  process.exit(1);
}
const { Stack, TapLink } = await import(dist.href);
const ROUNDS = Number(process.env.PING_ROUNDS ?? 3);
const COUNT = Number(process.env.PING_COUNT ?? 40);
const has = (b) => {
  try {
    execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const libc = koffi.load('libc.so.6');
const read = libc.func('read', 'intptr_t', ['int', 'void *', 'size_t']);
const write = libc.func('write', 'intptr_t', ['int', 'void *', 'size_t']);
const fcntl = libc.func('fcntl', 'int', ['int', 'int', 'int']);
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

const RESPONDER_MAC = [0x02, 0x50, 0, 0, 0, 1];
/** An echo reply to an IPv4 echo request without options, or undefined. */
function echoReply(f, n) {
  if (n < 42 || f[12] !== 8 || f[13] !== 0 || f[14] !== 0x45 || f[23] !== 1 || f[34] !== 8) return undefined;
  const r = new Uint8Array(n);
  r.set(f.subarray(0, n));
  r.set(f.subarray(6, 12), 0);
  r.set(RESPONDER_MAC, 6);
  r.set(f.subarray(30, 34), 26);
  r.set(f.subarray(26, 30), 30);
  r[34] = 0; // type 0: the checksum goes up by 0x0800 (RFC 1624)
  let c = ((r[36] << 8) | r[37]) + 0x0800;
  c = (c & 0xffff) + (c >> 16);
  r[36] = c >> 8;
  r[37] = c & 0xff;
  return r;
}

const namespaces = [];
const cleanups = [];
function namespace(tag, ifname, staticArp) {
  const ns = `pfl${tag}${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  execFileSync('ip', ['link', 'set', ifname, 'netns', ns]);
  const arp = staticArp ? `; ip neigh add 192.168.65.1 lladdr 02:50:00:00:00:01 dev ${ifname}` : '';
  execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `ip link set lo up; ip link set ${ifname} up; ip addr add 192.168.65.3/24 dev ${ifname}${arp}`]);
  return ns;
}
/** A TAP whose fd is ours to read (TapLink's own poller stopped: its private fields, as a diagnostic). */
function bareTap(ifname, blocking) {
  const t = TapLink.open({ name: ifname });
  t.poller.stop();
  if (blocking) fcntl(t.fd, F_SETFL, fcntl(t.fd, F_GETFL, 0) & ~O_NONBLOCK);
  return t;
}

const responders = [];
try {
  const stack = new Stack({ mtu: 1500 });
  stack.start();
  void stack.addLink(TapLink.open({ name: 'pfla0' }));
  cleanups.push(() => stack.close());
  responders.push(['vpnkit stack', namespace('a', 'pfla0', false), '192.168.65.1']);

  const tb = TapLink.open({ name: 'pflb0' });
  void tb.deliverTo((f) => {
    const r = echoReply(f, f.length);
    if (r !== undefined) tb.send(r);
  });
  cleanups.push(() => tb.close());
  responders.push(['TapLink + echo', namespace('b', 'pflb0', true), '192.168.65.1']);

  const tc = bareTap('pflc0', false);
  const buf = Buffer.alloc(65600);
  const poll = koffi.node.poll(tc.fd, { readable: true }, () => {
    for (;;) {
      const n = Number(read(tc.fd, buf, buf.length));
      if (n <= 0) return;
      const r = echoReply(buf, n);
      if (r !== undefined) write(tc.fd, r, r.length);
    }
  });
  cleanups.push(() => poll.close());
  responders.push(['uv_poll read(2)', namespace('c', 'pflc0', true), '192.168.65.1']);

  const td = bareTap('pfld0', true);
  const worker = new Worker(
    `const { workerData: w } = require('node:worker_threads');
     const koffi = require(w.koffi);
     const libc = koffi.load('libc.so.6');
     const read = libc.func('read', 'intptr_t', ['int', 'void *', 'size_t']);
     const write = libc.func('write', 'intptr_t', ['int', 'void *', 'size_t']);
     const echoReply = ${echoReply.toString()};
     const RESPONDER_MAC = ${JSON.stringify(RESPONDER_MAC)};
     const buf = Buffer.alloc(65600);
     for (;;) {
       const n = Number(read(w.fd, buf, buf.length));
       if (n <= 0) break;
       const r = echoReply(buf, n);
       if (r !== undefined) write(w.fd, r, r.length);
     }`,
    { eval: true, workerData: { fd: td.fd, koffi: createRequire(import.meta.url).resolve('koffi') } },
  );
  worker.unref();
  responders.push(['worker read(2)', namespace('d', 'pfld0', true), '192.168.65.1']);

  const children = [];
  cleanups.push(() => children.forEach((c) => c.kill()));
  const scratch = mkdtempSync(join(tmpdir(), 'ping-floor-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  const child = (name, tag, argv) => {
    const t = bareTap(`pfl${tag}0`, true);
    children.push(spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit', t.fd] }));
    responders.push([name, namespace(tag, `pfl${tag}0`, true), '192.168.65.1']);
  };
  if (has('python3')) {
    const py = join(scratch, 'echo.py');
    writeFileSync(
      py,
      `import os
mac = bytes(${JSON.stringify(RESPONDER_MAC)})
while True:
    f = os.read(3, 65600)
    n = len(f)
    if n == 0: break
    if n < 42 or f[12] != 8 or f[13] != 0 or f[14] != 0x45 or f[23] != 1 or f[34] != 8: continue
    r = bytearray(f); r[0:6] = f[6:12]; r[6:12] = mac; r[26:30] = f[30:34]; r[30:34] = f[26:30]; r[34] = 0
    c = ((r[36] << 8) | r[37]) + 0x0800; c = (c & 0xffff) + (c >> 16); r[36] = c >> 8; r[37] = c & 255
    os.write(3, r)
`,
    );
    child('python read(2)', 'e', ['python3', py]);
  }
  if (has('gcc')) {
    const c = join(scratch, 'echo.c');
    writeFileSync(
      c,
      `#include <string.h>
#include <unistd.h>
int main(void) {
  static unsigned char f[65600], r[65600];
  const unsigned char mac[6] = {${RESPONDER_MAC.join(', ')}};
  for (;;) {
    ssize_t n = read(3, f, sizeof f);
    if (n <= 0) return 0;
    if (n < 42 || f[12] != 8 || f[13] != 0 || f[14] != 0x45 || f[23] != 1 || f[34] != 8) continue;
    memcpy(r, f, n); memcpy(r, f + 6, 6); memcpy(r + 6, mac, 6); memcpy(r + 26, f + 30, 4); memcpy(r + 30, f + 26, 4);
    r[34] = 0; unsigned s = ((r[36] << 8) | r[37]) + 0x0800; s = (s & 0xffff) + (s >> 16); r[36] = s >> 8; r[37] = s & 255;
    if (write(3, r, n) < 0) return 1;
  }
}
`,
    );
    execFileSync('gcc', ['-O2', '-o', join(scratch, 'echo'), c]);
    child('C read(2)', 'f', [join(scratch, 'echo')]);
  }
  if (has('slirp4netns')) {
    const ns = `pflg${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    const holder = spawn('ip', ['netns', 'exec', ns, 'sleep', '3600'], { stdio: 'ignore' });
    await sleep(200);
    const slirp = spawn('slirp4netns', ['--configure', '--mtu', '1500', String(holder.pid), 'tap0'], { stdio: 'ignore' });
    cleanups.push(() => (slirp.kill(), holder.kill()));
    await sleep(1000);
    responders.push(['slirp4netns', ns, '10.0.2.2']);
  }

  const ping = (ns, to) =>
    new Promise((resolve) => {
      const c = spawn('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', String(COUNT), '-i', '0.05', to]);
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', () => resolve([...out.matchAll(/time=([\d.]+)/g)].map((m) => Number(m[1]))));
    });
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const [, ns, to] of responders) await ping(ns, to); // untimed: ARP, first compilations
  const all = new Map(responders.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const line = [];
    for (let k = 0; k < responders.length; k++) {
      const [name, ns, to] = responders[(k + round) % responders.length];
      const t = await ping(ns, to);
      all.get(name).push(...t);
      line.push(`${name} ${median(t).toFixed(3)}`);
    }
    console.log(`round ${round + 1} (ms, median of ${COUNT}): ${line.join(', ')}`);
  }
  console.log(`\nping round trip, ${new Date().toISOString().slice(0, 16)}Z, median of ${ROUNDS} x ${COUNT} pings 50 ms apart`);
  console.log('| responder | ms | replies |');
  console.log('| --- | ---: | ---: |');
  for (const [name, t] of all) console.log(`| ${name} | ${median(t).toFixed(3)} | ${t.length} |`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort: the namespaces below go anyway
    }
  }
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
  process.exit(0); // the worker is blocked in read(2) on a TAP that no longer exists
}
