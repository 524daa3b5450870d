#!/usr/bin/env node
/**
 * The `hyperkit` command: moby/hyperkit's flags (see args.ts) over `createVm`.
 *   hyperkit -m 512M -c 2 -l com1,stdio -f kexec,vmlinuz,initrd.img,"console=ttyS0"
 */
import { createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createVm } from '../vm/machine.js';
import { exitStatus, parseArgs, USAGE, UsageError } from './args.js';

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`hyperkit: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.version) {
    console.log(`hyperkit (@kitbox/hyperkit) ${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`);
    return 0;
  }
  for (const n of args.notes) console.error(`hyperkit: ${n}`);

  const log = args.com1?.kind === 'log' ? createWriteStream(args.com1.path, { flags: 'a' }) : undefined;
  const serial = args.com1?.kind === 'stdio' ? (d: Uint8Array) => process.stdout.write(d) : log ? (d: Uint8Array) => log.write(d) : undefined;
  const vm = await createVm({
    memoryMiB: args.memoryMiB,
    cpus: args.cpus,
    kernel: args.kernel,
    cmdline: args.cmdline,
    devices: args.devices,
    ...(args.initrd ? { initrd: args.initrd } : {}),
    ...(serial ? { serial } : {}),
  });
  if (args.pidfile) await writeFile(args.pidfile, `${process.pid}\n`, { mode: 0o644 });
  const stdin = args.com1?.kind === 'stdio' ? process.stdin : undefined;
  if (stdin) {
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', (d: Buffer) => vm.serialInput(d));
  }
  const stop = (): void => void vm.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  vm.start();
  const end = await vm.wait();
  if (stdin) {
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
  }
  log?.end();
  if (args.pidfile) await rm(args.pidfile, { force: true });
  if (end.reason === 'error') console.error(`hyperkit: ${end.message}`);
  return exitStatus(end.reason);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`hyperkit: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 4;
  },
);
