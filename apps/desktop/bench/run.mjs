// Benchmark for @kitbox/desktop (`npm run bench -w @kitbox/desktop`, `nx bench desktop`):
//   1. time from `kitbox start` to `docker version` answering through the host socket;
//   2. host CPU used by every Kitbox process (daemon + VM) while idle, over 60 s;
// and which VM driver ran. Anchors (not peers we can run here): OrbStack advertises a 2 s
// start; a QEMU TCG probe on this machine answered `docker version` in 16-20 s.
//
//   BENCH_IDLE_SECONDS=60
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const IDLE = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const docker = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
if (!existsSync(cli) || process.getuid?.() !== 0 || !existsSync('/usr/bin/qemu-system-x86_64') || docker === undefined) {
  console.log('desktop benchmark skipped: needs the build (nx build desktop), root, QEMU and the docker CLI');
  process.exit(0);
}

const image = execFileSync('bash', ['tools/vm-image/build'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').at(-1);
const home = mkdtempSync(join(tmpdir(), 'kitbox-bench-'));
const env = { ...process.env, KITBOX_HOME: home, KITBOX_IMAGE: image, DOCKER_CONFIG: join(home, 'docker') };
const sock = join(home, 'run', 'docker.sock');

/** CPU ticks (user + system) of every process whose command line or environment names our home. */
function ourTicks() {
  let ticks = 0;
  const pids = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!cmd.includes(home) && !environ.includes(`KITBOX_HOME=${home}`)) continue;
      if (Number(pid) === process.pid) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      pids.push(pid);
    } catch {
      /* exited */
    }
  }
  return { ticks, pids };
}

try {
  const t0 = performance.now();
  const start = spawnSync('node', [cli, 'start'], { env, encoding: 'utf8', timeout: 600_000 });
  if (start.status !== 0) throw new Error(`kitbox start failed: ${start.stderr || start.stdout}`);
  let answered = NaN;
  for (;;) {
    const v = spawnSync(docker, ['-H', `unix://${sock}`, 'version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8' });
    if (v.status === 0) {
      answered = (performance.now() - t0) / 1000;
      break;
    }
    if (performance.now() - t0 > 600_000) throw new Error('docker version did not answer');
  }
  const driver = /running \(([^)]+)\)/.exec(start.stdout)?.[1] ?? '?';
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  // Let the boot settle before measuring idle.
  await new Promise((r) => setTimeout(r, 10_000));
  const a = ourTicks();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE * 1000));
  const b = ourTicks();
  const wall = (performance.now() - w0) / 1000;
  const cpuPct = ((b.ticks - a.ticks) / hz / wall) * 100;
  spawnSync('node', [cli, 'stop'], { env, encoding: 'utf8', timeout: 120_000 });

  console.log(`\n@kitbox/desktop benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
  console.log(`VM driver: ${driver}`);
  console.log('| figure | Kitbox | anchor | ratio (anchor / Kitbox) |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| kitbox start -> docker version answers (s) | ${answered.toFixed(1)} | 2 (OrbStack, advertised) | ${(2 / answered).toFixed(2)} |`);
  console.log(`| idle host CPU, all Kitbox processes, ${IDLE} s (% of one core) | ${cpuPct.toFixed(1)} | 1 (target) | ${(1 / Math.max(cpuPct, 0.01)).toFixed(2)} |`);
  console.log(`(processes measured: ${b.pids.length})`);
} finally {
  spawnSync('node', [cli, 'stop'], { env, timeout: 120_000 });
  rmSync(home, { recursive: true, force: true });
}
