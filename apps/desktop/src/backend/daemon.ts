/**
 * The backend daemon (`kitbox daemon`, started in the background by `kitbox start`): owns
 * the VM (through a `VmDriver`) and the in-process vpnkit that is its network, follows the
 * guest agent on the console, and keeps `~/.kitbox/run/state.json` current.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { cpus as hostCpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Stack } from '@kitbox/vpnkit';
import { kitboxPaths, type KitboxPaths } from './paths.js';
import { parseSettings } from './settings.js';
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
    const text = existsSync(paths.settings) ? readFileSync(paths.settings, 'utf8') : '{}';
    const settings = parseSettings(text, { cpus: hostCpus().length, memoryMiB: Math.floor(totalmem() / 2 ** 20) }, paths.settings);
    for (const f of ['vmlinuz', 'initrd.img', 'root.img']) {
      if (!existsSync(join(image, f))) throw new Error(`the VM image at ${image} has no ${f}: run tools/vm-image/build`);
    }
    if (!existsSync(paths.dataDisk)) {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', paths.dataDisk, `${settings.diskGiB}G`]);
    }

    const stack = new Stack({ domainName: 'kitbox.internal' });
    stack.start();
    const driver = new QemuDriver({ runDir: paths.runDir });
    await save({ driver: driver.name, accel: driver.accel });
    driver.onConsoleLine((line) => {
      appendFileSync(paths.consoleLog, `${line}\n`);
      const lease = /kitbox-agent: lease ([\d.]+)\//.exec(line);
      if (lease) void save({ guestIp: lease[1] as string });
      const ready = /kitbox-agent: docker ready \(([\d.]+) s after boot\)/.exec(line);
      if (ready) {
        void save({
          status: 'running',
          dockerReadySeconds: Number(ready[1]),
          startSeconds: Math.round((performance.now() - t0) / 100) / 10,
        });
      }
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
    await stack.close();
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
