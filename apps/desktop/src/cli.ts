#!/usr/bin/env node
/**
 * `kitbox`: the command line of the Kitbox desktop backend.
 * Today: `diagnose` (what this host can run, checked through the kits) and `version`.
 * `start|stop|status|logs` arrive with the VM backend (issue #6).
 */
import { createRequire } from 'node:module';
import { diagnose, formatChecks } from './backend/diagnose.js';

const USAGE = `Usage: kitbox <command> [options]

Commands:
  diagnose [--json] [--kvm PATH]   check what this host can run, through the kits
  version                          print the version
  help                             print this help

Exit status: 0 on success, 1 when a required check fails, 2 on a usage error.`;

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
