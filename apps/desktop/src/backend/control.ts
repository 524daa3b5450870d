/**
 * `kitbox start|stop|status|logs`: the command-line side of the daemon. `start` launches
 * `kitbox daemon` in the background and waits until dockerd in the VM answers (or the
 * daemon fails, saying why); `stop` asks the daemon to shut the VM down cleanly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { cpus as hostCpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KitboxPaths } from './paths.js';
import { parseSettings, type Settings } from './settings.js';
import { isAlive, readState, type DaemonState } from './state.js';

function running(paths: KitboxPaths): DaemonState | undefined {
  const s = readState(paths.stateFile);
  return s && isAlive(s.pid) && s.status !== 'stopped' && s.status !== 'failed' ? s : undefined;
}

function tail(file: string, n: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-n - 1).join('\n');
}

export async function start(paths: KitboxPaths, { image, cli, timeoutMs = 300_000 }: { image: string; cli: string; timeoutMs?: number }): Promise<number> {
  const current = running(paths);
  if (current) {
    console.log(`kitbox is already ${current.status} (daemon pid ${current.pid})`);
    return 0;
  }
  // Everything that can be checked before starting anything is checked here, so that a
  // bad setting starts nothing.
  let settings: Settings;
  try {
    settings = loadSettings(paths);
    for (const f of ['vmlinuz', 'initrd.img', 'root.img']) {
      if (!existsSync(join(image, f))) throw new Error(`the VM image at ${image} has no ${f}: run tools/vm-image/build`);
    }
  } catch (err) {
    console.error(`kitbox: ${(err as Error).message}`);
    return 1;
  }
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
  const out = openSync(paths.daemonLog, 'a', 0o600);
  // The daemon runs vpnkit in-process: a larger initial old-generation limit keeps V8 from a
  // full collection every ~30 ms on uploads that follow a download (packages/vpnkit/BENCHMARKS.md,
  // session 5); it cannot be set once the process runs.
  const child = spawn(process.execPath, ['--initial-old-space-size=128', cli, 'daemon', '--image', image], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  child.unref();
  const t0 = performance.now();
  console.log(`kitbox: started the daemon (pid ${child.pid}); booting the VM...`);
  while (performance.now() - t0 < timeoutMs) {
    await sleep(250);
    const s = readState(paths.stateFile);
    if (!s || s.pid !== child.pid) continue;
    if (s.status === 'running') {
      console.log(`kitbox: running (${s.driver}, ${s.accel}): dockerd answered ${s.startSeconds} s after start (${s.dockerReadySeconds} s after the kernel started); VM address ${s.guestIp ?? 'unknown'}`);
      console.log(`kitbox: Docker API on unix://${settings.dockerSocket}`);
      const ctx = dockerContext(settings.dockerSocket);
      console.log(ctx === undefined ? 'kitbox: try: docker --context kitbox version' : `kitbox: ${ctx}`);
      return 0;
    }
    if (s.status === 'failed' || !isAlive(s.pid)) {
      console.error(`kitbox: the VM did not start: ${s.message ?? 'the daemon exited'}\n--- last console lines (${paths.consoleLog}):\n${tail(paths.consoleLog, 20)}`);
      return 1;
    }
  }
  console.error(`kitbox: dockerd did not answer within ${timeoutMs / 1000} s; see ${paths.consoleLog}`);
  return 1;
}

/** Settings from the file (defaults when absent), plus the checks that need the filesystem. */
export function loadSettings(paths: KitboxPaths): Settings {
  const text = existsSync(paths.settings) ? readFileSync(paths.settings, 'utf8') : '{}';
  const settings = parseSettings(text, { cpus: hostCpus().length, memoryMiB: Math.floor(totalmem() / 2 ** 20), runDir: paths.runDir }, paths.settings);
  const dir = dirname(settings.dockerSocket);
  // The default folder is ours to create; a configured one must exist.
  if (dir === paths.runDir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if (!existsSync(dir)) throw new Error(`${paths.settings}: "dockerSocket": the folder ${dir} does not exist`);
  return settings;
}

/**
 * Points the docker context `kitbox` at the socket (created, or updated if it exists).
 * Returns a note when the docker CLI is missing or refuses; undefined on success.
 */
function dockerContext(socket: string): string | undefined {
  const host = `host=unix://${socket}`;
  try {
    try {
      execFileSync('docker', ['context', 'inspect', 'kitbox'], { stdio: 'ignore' });
      execFileSync('docker', ['context', 'update', 'kitbox', '--docker', host], { stdio: 'ignore' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      execFileSync('docker', ['context', 'create', 'kitbox', '--description', 'Kitbox VM', '--docker', host], { stdio: 'ignore' });
    }
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `the docker CLI is not installed; point it at the socket with DOCKER_HOST=unix://${socket}`
      : `could not create the docker context "kitbox" (${(err as Error).message.split('\n')[0]}); use DOCKER_HOST=unix://${socket}`;
  }
}

export function status(paths: KitboxPaths): number {
  const s = readState(paths.stateFile);
  if (!s) {
    console.log('kitbox: never started');
    return 3;
  }
  const alive = isAlive(s.pid);
  const shown = alive || s.status === 'stopped' || s.status === 'failed' ? s.status : 'stopped (the daemon is gone)';
  console.log(`status:  ${shown}`);
  if (alive) console.log(`daemon:  pid ${s.pid}, ${s.driver ?? '?'} (${s.accel ?? '?'}), since ${s.startedAt}`);
  if (s.guestIp) console.log(`vm:      ${s.guestIp}`);
  if (s.dockerReadySeconds !== undefined) console.log(`docker:  answered ${s.startSeconds} s after start`);
  if (s.message) console.log(`note:    ${s.message}`);
  return alive && s.status === 'running' ? 0 : 3;
}

export async function stop(paths: KitboxPaths, { timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<number> {
  const s = running(paths);
  if (!s) {
    console.log('kitbox: not running');
    return 0;
  }
  process.kill(s.pid, 'SIGTERM');
  const t0 = performance.now();
  while (isAlive(s.pid)) {
    if (performance.now() - t0 > timeoutMs) {
      console.error(`kitbox: the daemon (pid ${s.pid}) did not stop within ${timeoutMs / 1000} s`);
      return 1;
    }
    await sleep(200);
  }
  console.log(`kitbox: stopped (${readState(paths.stateFile)?.message ?? 'done'})`);
  return 0;
}

/** Asks the daemon (SIGUSR1) to set the VM's clock from the host; waits for the agent's answer. */
export async function syncClock(paths: KitboxPaths, { timeoutMs = 15_000 }: { timeoutMs?: number } = {}): Promise<number> {
  const s = running(paths);
  if (!s || s.status !== 'running') {
    console.error('kitbox: not running');
    return 1;
  }
  const before = existsSync(paths.consoleLog) ? readFileSync(paths.consoleLog, 'utf8').length : 0;
  process.kill(s.pid, 'SIGUSR1');
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    await sleep(200);
    const fresh = readFileSync(paths.consoleLog, 'utf8').slice(before);
    const line = /kitbox-agent: clock[^\n]*/.exec(fresh)?.[0];
    if (line !== undefined) {
      console.log(`kitbox: ${line.replace('kitbox-agent: ', 'VM ')}`);
      return line.includes('clock set to') ? 0 : 1;
    }
  }
  console.error(`kitbox: the VM did not confirm its clock within ${timeoutMs / 1000} s`);
  return 1;
}

export function logs(paths: KitboxPaths, lines = 100): number {
  const text = tail(paths.consoleLog, lines);
  if (!text) {
    console.log(`kitbox: no console log yet (${paths.consoleLog})`);
    return 0;
  }
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return 0;
}
