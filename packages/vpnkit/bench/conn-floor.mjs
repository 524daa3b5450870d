// Where the connection-rate row's floor lies for a Node process on this machine: the bench's
// client (sequential connect + close from a network namespace to a loopback sink on the host)
// through four peers, all up at once and taking turns (the first to go rotating):
//
//   vpnkit stack   this package's Stack on a TapLink (the bench's path)
//   minimal NAT    a Node TCP responder of about a hundred lines: a guest SYN becomes
//                  net.connect() to the host's loopback, its success a SYN/ACK, the guest's FIN
//                  a FIN/ACK and the host socket destroyed. No retransmission, no timers, no
//                  TIME-WAIT, no options but MSS, no data path: the least any Node NAT must do.
//                  Frames through this package's TapLink (the cheapest way to a TAP from Node
//                  here: bench/ping-floor.mjs).
//   slirp4netns, pasta   as bench/run.mjs sets them up
//
// Prints connections/s and the CPU each peer's process used per connection.
//
//   node bench/conn-floor.mjs     FLOOR_ROUNDS=3  FLOOR_SECONDS=2 (per turn)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) {
  console.error('build first: npx nx build vpnkit');
  process.exit(1);
}
const { Stack, TapLink } = await import(dist.href);
const ROUNDS = Number(process.env.FLOOR_ROUNDS ?? 3);
const SECONDS = Number(process.env.FLOOR_SECONDS ?? 2);

function procCpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) * 10;
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const runIn = (ns, argv) =>
  new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => resolve(out));
  });

// --- the minimal NAT ---------------------------------------------------------------------------
const MAC = [0x02, 0x50, 0, 0, 0, 2];
function sum16(b, off, len, acc) {
  for (let i = 0; i + 1 < len; i += 2) acc += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) acc += b[off + len - 1] << 8;
  return acc;
}
const fold = (s) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};
/** A TCP segment without payload back to the guest, from the host's address and port. */
function segment(c, flags, seq, ack) {
  const opt = flags & 0x02 ? 4 : 0;
  const f = new Uint8Array(14 + 20 + 20 + opt);
  f.set(c.guestMac, 0);
  f.set(MAC, 6);
  f[12] = 8;
  f[14] = 0x45;
  const ipLen = 40 + opt;
  f[16] = ipLen >> 8;
  f[17] = ipLen & 0xff;
  f[20] = 0x40; // DF
  f[22] = 64;
  f[23] = 6;
  f.set(c.hostIp, 26);
  f.set(c.guestIp, 30);
  const ipc = fold(sum16(f, 14, 20, 0));
  f[24] = ipc >> 8;
  f[25] = ipc & 0xff;
  const t = 34;
  f[t] = c.hostPort >> 8;
  f[t + 1] = c.hostPort & 0xff;
  f[t + 2] = c.guestPort >> 8;
  f[t + 3] = c.guestPort & 0xff;
  new DataView(f.buffer).setUint32(t + 4, seq >>> 0);
  new DataView(f.buffer).setUint32(t + 8, ack >>> 0);
  f[t + 12] = ((20 + opt) / 4) << 4;
  f[t + 13] = flags;
  f[t + 14] = 0xff;
  f[t + 15] = 0xff;
  if (opt) f.set([2, 4, 0x05, 0xb4], t + 20); // MSS 1460
  let s = sum16(f, 26, 8, 0) + 6 + 20 + opt;
  s = sum16(f, t, 20 + opt, s);
  const tc = fold(s);
  f[t + 16] = tc >> 8;
  f[t + 17] = tc & 0xff;
  return f;
}
function minimalNat(tap) {
  const conns = new Map();
  return (f) => {
    if (f.length < 54 || f[12] !== 8 || f[13] !== 0 || f[23] !== 6) return;
    const ihl = (f[14] & 15) * 4;
    const t = 14 + ihl;
    const dv = new DataView(f.buffer, f.byteOffset, f.length);
    const guestPort = dv.getUint16(t);
    const flags = f[t + 13];
    const seq = dv.getUint32(t + 4);
    const payload = dv.getUint16(16) - ihl - (f[t + 12] >> 4) * 4;
    let c = conns.get(guestPort);
    if (flags & 0x04) {
      c?.host.destroy();
      conns.delete(guestPort);
      return;
    }
    if (flags & 0x02) {
      if (c !== undefined) return; // a retransmitted SYN: the SYN/ACK follows the connect
      c = {
        guestMac: f.slice(6, 12),
        guestIp: f.slice(26, 30),
        hostIp: f.slice(30, 34),
        guestPort,
        hostPort: dv.getUint16(t + 2),
        iss: (Math.random() * 2 ** 32) >>> 0,
        rcvNxt: (seq + 1) >>> 0,
        finSent: false,
        host: undefined,
      };
      conns.set(guestPort, c);
      const cc = c;
      cc.host = connect(cc.hostPort, '127.0.0.1');
      cc.host.on('connect', () => tap.send(segment(cc, 0x12, cc.iss, cc.rcvNxt)));
      cc.host.on('error', () => {
        if (conns.get(guestPort) === cc) conns.delete(guestPort);
        tap.send(segment(cc, 0x14, 0, cc.rcvNxt));
      });
      cc.host.on('end', () => {
        if (!cc.finSent && conns.get(guestPort) === cc) {
          cc.finSent = true;
          tap.send(segment(cc, 0x11, cc.iss + 1, cc.rcvNxt));
        }
      });
      cc.host.resume();
      return;
    }
    if (c === undefined) return;
    if (flags & 0x01) {
      c.rcvNxt = (seq + payload + 1) >>> 0;
      if (c.finSent) {
        tap.send(segment(c, 0x10, c.iss + 2, c.rcvNxt));
        conns.delete(guestPort);
      } else {
        c.finSent = true;
        tap.send(segment(c, 0x11, c.iss + 1, c.rcvNxt));
      }
      c.host.destroy();
      return;
    }
    // A plain ACK: of our FIN once both sides have closed.
    if (c.finSent && dv.getUint32(t + 8) === ((c.iss + 2) >>> 0) && c.host.destroyed) conns.delete(guestPort);
  };
}

// --- peers ---------------------------------------------------------------------------------------
const namespaces = [];
const cleanups = [];
function newNs(tag) {
  const name = `cfl${tag}${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  namespaces.push(name);
  execFileSync('ip', ['netns', 'exec', name, 'sh', '-c', 'ip link set lo up; sysctl -qw net.ipv4.ip_local_port_range="1024 65535"']);
  return name;
}
function tapNs(tag, ifname, staticArp) {
  const name = newNs(tag);
  execFileSync('ip', ['link', 'set', ifname, 'netns', name]);
  const arp = staticArp ? `; ip neigh add 192.168.65.2 lladdr 02:50:00:00:00:02 dev ${ifname}` : '';
  execFileSync('ip', ['netns', 'exec', name, 'sh', '-c', `ip link set ${ifname} up; ip addr add 192.168.65.3/24 dev ${ifname}${arp}`]);
  return name;
}
const peers = [];
const sink = spawn(process.execPath, ['-e', "const s=require('net').createServer((c)=>c.destroy()).listen(0,'127.0.0.1',()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const port = await new Promise((r) => sink.stdout.once('data', (d) => r(Number(String(d)))));

  const stack = new Stack({ mtu: 1500 });
  stack.start();
  void stack.addLink(TapLink.open({ name: 'cfla0', offload: true }));
  cleanups.push(() => stack.close());
  peers.push({ name: 'vpnkit stack', ns: tapNs('a', 'cfla0', false), host: '192.168.65.2', cpuMs: selfCpuMs });

  const tb = TapLink.open({ name: 'cflb0' });
  void tb.deliverTo(minimalNat(tb));
  cleanups.push(() => tb.close());
  peers.push({ name: 'minimal NAT (Node)', ns: tapNs('b', 'cflb0', true), host: '192.168.65.2', cpuMs: selfCpuMs });

  const sn = newNs('c');
  const slirp = spawn('slirp4netns', ['--configure', '--mtu=1500', '--netns-type=path', `/run/netns/${sn}`, 'tap0'], { stdio: 'ignore' });
  cleanups.push(() => slirp.kill());
  peers.push({ name: 'slirp4netns', ns: sn, host: '10.0.2.2', cpuMs: () => procCpuMs(slirp.pid) });

  const gw = /default via (\S+)/.exec(execFileSync('ip', ['-4', 'route', 'show', 'default'], { encoding: 'utf8' }))?.[1];
  if (gw !== undefined) {
    const pn = newNs('d');
    const pasta = spawn('pasta', ['--runas', '0', '--config-net', '-f', '-q', '-m', '1500', '--netns', `/run/netns/${pn}`], { stdio: 'ignore' });
    cleanups.push(() => pasta.kill());
    peers.push({ name: 'pasta', ns: pn, host: gw, cpuMs: () => procCpuMs(pasta.pid) });
  }
  await sleep(1500);

  const turn = async (p, seconds) => {
    const script = `const net=require('net');let n=0;const end=Date.now()+${Math.round(seconds * 1000)};
      (function one(){ if(Date.now()>end){console.log(n);return;} const s=net.connect(${port},'${p.host}');
      s.on('connect',()=>{n++;s.destroy();one();}); s.on('error',()=>{s.destroy();one();}); })();`;
    const c0 = p.cpuMs();
    const n = Number((await runIn(p.ns, ['node', '-e', script])).trim());
    return { n, cpu: p.cpuMs() - c0 };
  };
  for (const p of peers) await turn(p, 1); // untimed warm-up
  const got = new Map(peers.map((p) => [p.name, { n: 0, cpu: 0, rates: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + r) % peers.length];
      const t = await turn(p, SECONDS);
      const g = got.get(p.name);
      g.n += t.n;
      g.cpu += t.cpu;
      g.rates.push(t.n / SECONDS);
    }
  }
  console.log(`\nsequential connect + close, ${new Date().toISOString().slice(0, 16)}Z, ${ROUNDS} turns of ${SECONDS} s each`);
  console.log('| peer | connections/s | CPU us a connection | turns |');
  console.log('| --- | ---: | ---: | --- |');
  for (const [name, g] of got) {
    console.log(`| ${name} | ${(g.n / (ROUNDS * SECONDS)).toFixed(0)} | ${((g.cpu * 1000) / g.n).toFixed(0)} | ${g.rates.map((x) => x.toFixed(0)).join(', ')} |`);
  }
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
  sink.kill();
  await sleep(300);
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
}
