#!/usr/bin/env node
/**
 * `kitbox`: the command line of the Kitbox desktop backend.
 * `start|stop|status|logs` drive the backend daemon (the VM with Docker Engine and its
 * in-process vpnkit); `diagnose` checks what this host can run, through the kits.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { logs, start, status, stop, syncClock } from './backend/control.js';
import { runDaemon } from './backend/daemon.js';
import { diagnose, formatChecks } from './backend/diagnose.js';
import { kitboxPaths } from './backend/paths.js';

const USAGE = `Usage: kitbox <command> [options]

Commands:
  start [--image DIR]              boot the VM (Docker Engine) in the background; waits for dockerd
  status                           what the daemon and the VM are doing (exit 0 when running)
  stop                             shut the VM down cleanly and stop the daemon
  logs [-n LINES]                  the VM's console log
  sync-clock                       set the VM's clock from the host's now
  diagnose [--json] [--kvm PATH]   check what this host can run, through the kits
  version                          print the version
  help                             print this help

The VM image comes from tools/vm-image/build (--image, or KITBOX_IMAGE); state lives in
~/.kitbox (KITBOX_HOME). Exit status: 0 on success, 1 on failure, 2 on a usage error,
3 from status when kitbox is not running.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    case 'version':
    case '--version': {
      const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
      console.log(pkg.version);
      return 0;
    }
    case 'start':
    case 'daemon': {
      let image = process.env.KITBOX_IMAGE;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--image' && rest[i + 1] !== undefined) image = rest[++i];
        else {
          console.error(`kitbox ${cmd}: unknown option '${rest[i]}'\n\n${USAGE}`);
          return 2;
        }
      }
      if (!image) {
        console.error(`kitbox ${cmd}: no VM image: pass --image DIR (made by tools/vm-image/build) or set KITBOX_IMAGE`);
        return 2;
      }
      return cmd === 'daemon'
        ? runDaemon({ image, paths: kitboxPaths() })
        : start(kitboxPaths(), { image, cli: fileURLToPath(import.meta.url) });
    }
    case 'status':
      return status(kitboxPaths());
    case 'stop':
      return stop(kitboxPaths());
    case 'sync-clock':
      return syncClock(kitboxPaths());
    case 'logs': {
      const n = rest[0] === '-n' ? Number(rest[1]) : 100;
      if (!Number.isInteger(n) || n <= 0) {
        console.error('kitbox logs: -n takes a positive number of lines');
        return 2;
      }
      return logs(kitboxPaths(), n);
    }
    case 'diagnose': {
      let json = false;
      let kvmPath: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === '--json') json = true;
        else if (a === '--kvm' && rest[i + 1] !== undefined) kvmPath = rest[++i];
        else {
          console.error(`kitbox diagnose: unknown option '${a}'\n\n${USAGE}`);
          return 2;
        }
      }
      const checks = await diagnose(kvmPath === undefined ? {} : { kvmPath });
      console.log(json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
      return checks.some((c) => !c.ok && !c.optional) ? 1 : 0;
    }
    default:
      console.error(`kitbox: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`kitbox: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 1;
  },
);
