// Benchmark for @kitbox/vpnkit against slirp4netns and pasta, in one run on one machine
// (`npm run bench -w @kitbox/vpnkit`, `nx bench vpnkit`; needs root, iperf3, slirp4netns, passt).
//
// For each peer and MTU (1500, 65520) a fresh network namespace gets its network from the
// peer: vpnkit (this package, in this process, over a TAP), slirp4netns, or pasta. Inside,
// iperf3 talks to an iperf3 server on the host's loopback through each peer's host address
// (upload = namespace -> host, download = -R). Then, at the first MTU, every peer gets a
// namespace at once and they take turns (BENCH_ROUNDS rounds, the first to go rotating): a
// node client measures sequential connection setup rate, and 20 pings the round trip to the
// gateway; each peer's turns are pooled (connections over the total time, median of all its
// pings). Ratios are vpnkit / peer. A second table gives the CPU each peer's process used per
// GB and per connection in the same runs.
//
//   BENCH_SECONDS=5 (per iperf3 run; a peer's connection-rate turns add up to it)  BENCH_ROUNDS=3
//   (turns of connection rate + ping for each peer, all peers up at once)  BENCH_WARMUP=1 (seconds
//   of untimed connections and 20 pings each peer gets first; 0: none)  BENCH_PEERS=vpnkit,slirp4netns,pasta  BENCH_MTUS=1500,65520
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) {
  console.error('build first: npx nx build vpnkit');
  process.exit(1);
}
const { Stack, TapLink } = await import(dist.href);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const PEERS = (process.env.BENCH_PEERS ?? 'vpnkit,slirp4netns,pasta').split(',');
const MTUS = (process.env.BENCH_MTUS ?? '1500,65520').split(',').map(Number);

const missing = ['iperf3', 'slirp4netns', 'pasta', 'ip', 'busybox', 'node'].filter((b) => {
  try {
    execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
if (process.getuid?.() !== 0 || missing.length > 0) {
  console.log(`vpnkit benchmark skipped: needs root and ${missing.join(', ') || 'nothing else'}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'vpnkit-bench-'));
const ns = (name, ...argv) => execFileSync('ip', ['netns', 'exec', name, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });

function runIn(name, argv, timeoutMs = 120_000) {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

/** CPU time (user + system, all threads, ms) a process has used, from /proc; NaN once it is gone. */
function procCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let seq = 0;
function newNs() {
  const name = `vkb-${process.pid % 10000}-${seq++}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

const udhcpcScript = join(dir, 'udhcpc.sh');
writeFileSync(
  udhcpcScript,
  '#!/bin/sh\ncase "$1" in\n deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;\n bound|renew) ip addr add "$ip/$subnet" dev "$interface"; [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"; ip route add default via "$router" dev "$interface" ;;\nesac\nexit 0\n',
  { mode: 0o755 },
);

/** Set up a namespace served by `peer`; returns the address that reaches host loopback and a closer. */
async function setup(peer, mtu) {
  const name = newNs();
  if (peer === 'vpnkit') {
    const stack = new Stack({ mtu });
    stack.start();
    const tapName = `vkb${seq}`;
    const tap = TapLink.open({ name: tapName, offload: process.env.BENCH_OFFLOAD !== '0' });
    void stack.addLink(tap);
    execFileSync('ip', ['link', 'set', tapName, 'netns', name]);
    execFileSync('ip', ['-n', name, 'link', 'set', tapName, 'up']);
    // Not execFileSync: the stack answering DHCP runs on this process's event loop.
    const dhcp = await runIn(name, ['busybox', 'udhcpc', '-i', tapName, '-n', '-q', '-f', '-s', udhcpcScript, '-O', 'mtu', '-t', '5', '-T', '2'], 30_000);
    if (dhcp.code !== 0) throw new Error(`udhcpc: ${dhcp.err}`);
    return {
      name,
      host: '192.168.65.2',
      gateway: '192.168.65.1',
      // vpnkit runs in this process (the orchestration around it is idle while it is measured).
      cpuMs: selfCpuMs,
      close: async () => {
        await stack.close();
        execFileSync('ip', ['netns', 'del', name]);
      },
    };
  }
  if (peer === 'slirp4netns') {
    const child = spawn('slirp4netns', ['--configure', `--mtu=${mtu}`, '--netns-type=path', `/run/netns/${name}`, 'tap0'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      if (ns(name, 'ip', '-4', 'addr', 'show', 'tap0').includes('inet ')) break;
    }
    return {
      name,
      host: '10.0.2.2',
      gateway: '10.0.2.2',
      cpuMs: () => procCpuMs(child.pid),
      close: async () => {
        child.kill();
        await new Promise((r) => child.once('close', r));
        execFileSync('ip', ['netns', 'del', name]);
      },
    };
  }
  // pasta: the namespace copies the host's addressing; its default gateway maps to the host.
  const gw = /default via (\S+)/.exec(execFileSync('ip', ['-4', 'route', 'show', 'default'], { encoding: 'utf8' }))?.[1];
  if (gw === undefined) throw new Error('pasta needs a default route on the host');
  const child = spawn('pasta', ['--runas', '0', '--config-net', '-f', '-q', '-m', String(mtu), '--netns', `/run/netns/${name}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (/inet /.test(ns(name, 'ip', '-4', 'addr'))) break;
  }
  return {
    name,
    host: gw,
    gateway: gw,
    cpuMs: () => procCpuMs(child.pid),
    close: async () => {
      child.kill();
      await new Promise((r) => child.once('close', r));
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
}

async function iperf(env, port, reverse) {
  const cpu0 = env.cpuMs();
  const r = await runIn(env.name, ['iperf3', '-c', env.host, '-p', String(port), '-t', String(SECONDS), '-J', ...(reverse ? ['-R'] : [])], (SECONDS + 30) * 1000);
  try {
    const j = JSON.parse(r.out);
    if (j.error) return { gbps: NaN, note: j.error };
    const cpu = env.cpuMs() - cpu0;
    return { gbps: j.end.sum_received.bits_per_second / 1e9, cpuMsPerGB: cpu / (j.end.sum_received.bytes / 1e9) };
  } catch {
    return { gbps: NaN, note: (r.err || r.out).trim().split('\n').at(-1) };
  }
}

async function connRate(env, port, seconds) {
  const script = `const net=require('net');let n=0;const end=Date.now()+${Math.round(seconds * 1000)};
    (function one(){ if(Date.now()>end){console.log(n);return;} const s=net.connect(${port},'${env.host}');
    s.on('connect',()=>{n++;s.destroy();one();}); s.on('error',()=>{s.destroy();one();}); })();`;
  const cpu0 = env.cpuMs();
  const r = await runIn(env.name, ['node', '-e', script], (seconds + 20) * 1000);
  return { conns: Number(r.out.trim()), cpuMs: env.cpuMs() - cpu0 };
}

/** Round-trip times (ms) of 20 pings to the gateway, 50 ms apart. */
async function pingRtts(env) {
  const r = await runIn(env.name, ['busybox', 'ping', '-c', '20', '-i', '0.05', env.gateway], 30_000);
  return [...r.out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};

const iperfPort = 15201;
const iperfServer = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(iperfPort)], { stdio: 'ignore' });
// The connection-rate target accepts and closes; it runs in its own process so that, like the
// iperf3 server, it does not share an event loop with vpnkit (which runs in this one) and gets
// the same core to itself whichever peer is measured.
const sink = spawn(process.execPath, ['-e', "const s=require('net').createServer((c)=>c.destroy()).listen(0,'127.0.0.1',()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkPort = await new Promise((r, j) => {
  sink.stdout.once('data', (d) => r(Number(String(d).trim())));
  sink.once('exit', (c) => j(new Error(`sink exited with ${c}`)));
});
await sleep(300);

const results = {};
try {
  for (const mtu of MTUS) {
    for (const peer of PEERS) {
      let env;
      try {
        env = await setup(peer, mtu);
        const up = await iperf(env, iperfPort, false);
        const down = await iperf(env, iperfPort, true);
        results[`${peer}@${mtu}`] = { up, down };
        console.error(`${peer} mtu ${mtu}: ${JSON.stringify(results[`${peer}@${mtu}`])}`);
      } catch (e) {
        results[`${peer}@${mtu}`] = { error: String(e.message ?? e) };
        console.error(`${peer} mtu ${mtu}: ${e.message ?? e}`);
      } finally {
        await env?.close().catch(() => undefined);
      }
    }
  }
  // Connection rate and ping: the machine's state moves within a minute (a ping's wake-up
  // here ranges from 0.1 to 3 ms from one minute to the next), so these rows are not
  // measured one peer after the other: every peer is set up at once and they take turns,
  // ROUNDS times, the first to go rotating; each row pools its peer's turns. A peer's
  // connection turns add up to SECONDS, as an iperf3 run.
  const turnSeconds = SECONDS / ROUNDS;
  const mtu = MTUS[0];
  const envs = new Map();
  try {
    for (const peer of PEERS) {
      try {
        const env = await setup(peer, mtu);
        envs.set(peer, env);
        // Every connection leaves a TIME-WAIT socket in the namespace (the client closes
        // first) for 60 s: room for all of a peer's turns, whatever its rate.
        ns(env.name, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535');
      } catch (e) {
        // Its throughput rows stand; the note says why these two are missing.
        results[`${peer}@${mtu}`] = { ...results[`${peer}@${mtu}`], turnError: String(e.message ?? e) };
      }
    }
    const turns = new Map([...envs.keys()].map((peer) => [peer, { conns: 0, cpuMs: 0, rtts: [], perRound: [] }]));
    const live = [...envs.keys()];
    // Untimed first, as bench/diod.mjs in p9p does: all three are long-running services, and
    // vpnkit's connection path is not yet compiled after the iperf3 rows (in one process, three
    // stacks one after the other: 334, 271, 244 us of CPU a connection).
    if (WARMUP > 0) {
      for (const peer of live) {
        await connRate(envs.get(peer), sinkPort, WARMUP);
        await pingRtts(envs.get(peer));
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < live.length; k++) {
        const peer = live[(k + round) % live.length];
        const env = envs.get(peer);
        const t = turns.get(peer);
        const c = await connRate(env, sinkPort, turnSeconds);
        const rtts = await pingRtts(env);
        t.conns += c.conns;
        t.cpuMs += c.cpuMs;
        t.rtts.push(...rtts);
        t.perRound.push(`${(c.conns / turnSeconds).toFixed(0)}/s ${median(rtts).toFixed(3)} ms`);
      }
    }
    for (const [peer, t] of turns) {
      const row = results[`${peer}@${mtu}`] ?? {};
      row.connPerS = t.conns / (turnSeconds * ROUNDS);
      row.cpuUsPerConn = t.conns > 0 ? (t.cpuMs * 1000) / t.conns : NaN;
      row.rttMs = median(t.rtts);
      row.turns = t.perRound;
      results[`${peer}@${mtu}`] = row;
      console.error(`${peer} mtu ${mtu} turns (connections/s, ping median): ${t.perRound.join(', ')}`);
    }
  } finally {
    for (const env of envs.values()) await env.close().catch(() => undefined);
  }
} finally {
  iperfServer.kill();
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const ratio = (a, b, higherBetter = true) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0 ? (higherBetter ? a / b : b / a).toFixed(2) : 'n/a');
console.log(`\n@kitbox/vpnkit benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), iperf3 ${SECONDS} s per run`);
console.log('| row | vpnkit | slirp4netns | pasta | vpnkit/slirp4netns | vpnkit/pasta |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
const get = (peer, mtu, pick) => {
  const r = results[`${peer}@${mtu}`];
  return r && !r.error ? pick(r) : NaN;
};
for (const mtu of MTUS) {
  for (const [label, pick] of [
    ['upload Gbit/s', (r) => r.up.gbps],
    ['download Gbit/s', (r) => r.down.gbps],
  ]) {
    const v = get('vpnkit', mtu, pick);
    const s = get('slirp4netns', mtu, pick);
    const p = get('pasta', mtu, pick);
    console.log(`| ${label}, MTU ${mtu} | ${f(v)} | ${f(s)} | ${f(p)} | ${ratio(v, s)} | ${ratio(v, p)} |`);
  }
}
{
  const mtu = MTUS[0];
  const c = ['vpnkit', 'slirp4netns', 'pasta'].map((peer) => get(peer, mtu, (r) => r.connPerS));
  console.log(`| connections/s (sequential; ${ROUNDS} turns), MTU ${mtu} | ${f(c[0], 0)} | ${f(c[1], 0)} | ${f(c[2], 0)} | ${ratio(c[0], c[1])} | ${ratio(c[0], c[2])} |`);
  const t = ['vpnkit', 'slirp4netns', 'pasta'].map((peer) => get(peer, mtu, (r) => r.rttMs));
  console.log(`| ping gateway RTT ms, median of 20 x ${ROUNDS} turns (lower is better; ratio peer/vpnkit) | ${f(t[0], 3)} | ${f(t[1], 3)} | ${f(t[2], 3)} | ${ratio(t[0], t[1], false)} | ${ratio(t[0], t[2], false)} |`);
}
// The same runs by CPU: what each peer's own process spent (user + system, from /proc; vpnkit's
// from process.cpuUsage), which moves less than throughput when other jobs share the machine.
console.log('\n| CPU per unit of work (lower is better; ratio peer/vpnkit) | vpnkit | slirp4netns | pasta | slirp4netns/vpnkit | pasta/vpnkit |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const mtu of MTUS) {
  for (const [label, pick] of [
    ['upload, ms per GB', (r) => r.up.cpuMsPerGB],
    ['download, ms per GB', (r) => r.down.cpuMsPerGB],
  ]) {
    const [v, sl, p] = ['vpnkit', 'slirp4netns', 'pasta'].map((peer) => get(peer, mtu, pick));
    console.log(`| ${label}, MTU ${mtu} | ${f(v, 0)} | ${f(sl, 0)} | ${f(p, 0)} | ${ratio(v, sl, false)} | ${ratio(v, p, false)} |`);
  }
}
{
  const [v, sl, p] = ['vpnkit', 'slirp4netns', 'pasta'].map((peer) => get(peer, MTUS[0], (r) => r.cpuUsPerConn));
  console.log(`| per connection, us, MTU ${MTUS[0]} | ${f(v, 0)} | ${f(sl, 0)} | ${f(p, 0)} | ${ratio(v, sl, false)} | ${ratio(v, p, false)} |`);
}
for (const [k, r] of Object.entries(results)) {
  for (const d of ['up', 'down']) if (r[d]?.note) console.log(`note: ${k} ${d}: ${r[d].note}`);
  if (r.error) console.log(`note: ${k}: ${r.error}`);
  if (r.turnError) console.log(`note: ${k} (connection rate and ping): ${r.turnError}`);
}
process.exit(0);
