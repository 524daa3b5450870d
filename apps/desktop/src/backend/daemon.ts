/**
 * The backend daemon (`kitbox daemon`, started in the background by `kitbox start`): owns
 * the VM (through a `VmDriver`) and the in-process vpnkit that is its network, follows the
 * guest agent on the console, and keeps `~/.kitbox/run/state.json` current.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DnsForwarder, Stack } from '@kitbox/vpnkit';
import { DockerRelay } from './docker-relay.js';
import { kitboxPaths, type KitboxPaths } from './paths.js';
import { PortPublisher } from './ports.js';
import { loadSettings } from './control.js';
import { writeState, type DaemonState } from './state.js';
import { QemuDriver } from './vm/qemu.js';

const run = promisify(execFile);

export interface DaemonOptions {
  /** Folder made by tools/vm-image/build (vmlinuz, initrd.img, root.img). */
  image: string;
  paths?: KitboxPaths;
}

export async function runDaemon({ image, paths = kitboxPaths() }: DaemonOptions): Promise<number> {
  for (const d of [paths.home, paths.runDir, paths.logDir, dirname(paths.dataDisk)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const t0 = performance.now();
  const state: DaemonState = { status: 'starting', pid: process.pid, startedAt: new Date().toISOString() };
  const save = (patch: Partial<DaemonState>): Promise<void> => writeState(paths.stateFile, Object.assign(state, patch));
  await writeFile(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });
  await save({});

  try {
    const settings = loadSettings(paths);
    for (const f of ['vmlinuz', 'initrd.img', 'root.img']) {
      if (!existsSync(join(image, f))) throw new Error(`the VM image at ${image} has no ${f}: run tools/vm-image/build`);
    }
    if (!existsSync(paths.dataDisk)) {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', paths.dataDisk, `${settings.diskGiB}G`]);
    }

    // The VM's resolver is the gateway: the host's upstreams (resolv.conf), and Docker's names.
    const dns = new DnsForwarder({ names: { 'host.docker.internal': ['192.168.65.2'], 'gateway.docker.internal': ['192.168.65.1'] } });
    const stack = new Stack({ domainName: 'kitbox.internal', dns });
    stack.start();
    const daemonLog = (line: string): void => appendFileSync(paths.daemonLog, `${new Date().toISOString()} ${line}\n`);
    const relay = new DockerRelay(stack, settings.dockerSocket);
    try {
      await relay.listen();
    } catch (err) {
      await stack.close();
      dns.close();
      throw err;
    }
    let publisher: PortPublisher | undefined;
    // The guest's clock follows the host's: once the VM is up, whenever the host's clock jumps
    // against the monotonic clock (suspend/resume, a manual change), and on request (SIGUSR1,
    // `kitbox sync-clock`).
    const syncClock = (why: string): void => {
      daemonLog(`clock: setting the VM's clock (${why})`);
      driver.setClock(Date.now() / 1000);
    };
    let wallAtMono = Date.now() - performance.now();
    const clockWatch = setInterval(() => {
      const now = Date.now() - performance.now();
      if (Math.abs(now - wallAtMono) > 2000 && state.status === 'running') syncClock(`the host's clock jumped ${Math.round((now - wallAtMono) / 1000)} s`);
      wallAtMono = now;
    }, 10_000);
    clockWatch.unref();
    process.on('SIGUSR1', () => {
      if (state.status === 'running') syncClock('asked');
    });
    const dockerReady = async (guestIp: string, readySeconds: number): Promise<void> => {
      // dockerd answered inside the VM; wait until it answers through the host socket too.
      const t = performance.now();
      for (;;) {
        try {
          await pingDocker(settings.dockerSocket);
          break;
        } catch (err) {
          if (performance.now() - t > 30_000) {
            await save({ status: 'failed', message: `dockerd runs in the VM but ${settings.dockerSocket} does not reach it: ${(err as Error).message}` });
            return;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      syncClock('dockerd is up');
      publisher = new PortPublisher({ dockerSocket: settings.dockerSocket, guestIp, forwards: stack.forwards, log: daemonLog });
      await publisher.start();
      await save({
        status: 'running',
        dockerReadySeconds: readySeconds,
        dockerSocket: settings.dockerSocket,
        startSeconds: Math.round((performance.now() - t0) / 100) / 10,
      });
    };
    const driver = new QemuDriver({ runDir: paths.runDir });
    await save({ driver: driver.name, accel: driver.accel });
    if (driver.accel === 'tcg' && settings.cpus > 1) {
      daemonLog(`QEMU TCG: the VM gets 1 vCPU instead of ${settings.cpus} (SMP guests livelock in runc under TCG)`);
    }
    driver.onConsoleLine((line) => {
      appendFileSync(paths.consoleLog, `${line}\n`);
      const lease = /kitbox-agent: lease ([\d.]+)\//.exec(line);
      if (lease) {
        relay.setGuest(lease[1] as string);
        void save({ guestIp: lease[1] as string });
      }
      const ready = /kitbox-agent: docker ready \(([\d.]+) s after boot\)/.exec(line);
      if (ready && state.guestIp !== undefined) void dockerReady(state.guestIp, Number(ready[1]));
    });
    appendFileSync(paths.consoleLog, `--- kitbox daemon ${process.pid} starting the VM (${driver.name}, ${driver.accel}) at ${state.startedAt}\n`);
    await driver.start({
      image: { kernel: join(image, 'vmlinuz'), initrd: join(image, 'initrd.img'), rootDisk: join(image, 'root.img') },
      cpus: settings.cpus,
      memoryMiB: settings.memoryMiB,
      dataDisk: paths.dataDisk,
      network: { attach: (link) => void stack.addLink(link) },
    });

    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void save({ status: 'stopping' }).then(() => driver.stop());
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const exit = await driver.exited();
    clearInterval(clockWatch);
    await publisher?.close();
    await relay.close();
    await stack.close();
    dns.close();
    await save(
      stopping
        ? { status: 'stopped', message: 'stopped on request' }
        : { status: 'failed', message: `the VM exited unexpectedly (code ${exit.code}, signal ${exit.signal}): see ${paths.consoleLog}` },
    );
    return stopping ? 0 : 1;
  } catch (err) {
    await save({ status: 'failed', message: (err as Error).message });
    return 1;
  } finally {
    await rm(paths.pidFile, { force: true });
  }
}

/** GET /_ping on the Docker socket: resolves when the engine answers OK. */
function pingDocker(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/_ping', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/_ping: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('/_ping: timeout')));
    req.on('error', reject);
    req.end();
  });
}
