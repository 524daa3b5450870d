#!/usr/bin/env node
/**
 * The `hyperkit` command: moby/hyperkit's flags (see args.ts) over `createVm`.
 *   hyperkit -m 512M -c 2 -l com1,stdio -f kexec,vmlinuz,initrd.img,"console=ttyS0"
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import { openPty } from '../ffi/pty.js';
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
  const com1 = args.com1?.kind === 'autopty' ? await openTerminal(args.com1.link) : args.com1?.kind === 'socket' ? await openSocket(args.com1.path) : undefined;
  const serial =
    args.com1?.kind === 'stdio'
      ? (d: Uint8Array) => process.stdout.write(d)
      : log
        ? (d: Uint8Array) => log.write(d)
        : com1
          ? (d: Uint8Array) => com1.write(d)
          : undefined;
  const vm = await createVm({
    memoryMiB: args.memoryMiB,
    cpus: args.cpus,
    kernel: args.kernel,
    cmdline: args.cmdline,
    devices: args.devices,
    acpi: args.acpi,
    ...(args.initrd ? { initrd: args.initrd } : {}),
    ...(serial ? { serial } : {}),
  });
  if (args.pidfile) await writeFile(args.pidfile, `${process.pid}\n`, { mode: 0o644 });
  const stdin = args.com1?.kind === 'stdio' ? process.stdin : undefined;
  if (stdin) {
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', (d: Buffer) => vm.serialInput(d));
  }
  com1?.onInput((d) => vm.serialInput(d));
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
  await com1?.close();
  if (args.pidfile) await rm(args.pidfile, { force: true });
  if (end.reason === 'error') console.error(`hyperkit: ${end.message}`);
  return exitStatus(end.reason);
}

/** A COM1 backend the VMM writes the guest's output to and takes its input from. */
interface Com1Backend {
  write: (d: Uint8Array) => void;
  onInput: (f: (d: Buffer) => void) => void;
  close: () => Promise<void>;
}

/**
 * COM1 on a Unix socket (`-l com1,socket=PATH`, owner-only): one client at a time gets the
 * guest's output and types into its input; output while nobody is connected is dropped, and a
 * second client is refused while the first is there.
 */
async function openSocket(path: string): Promise<Com1Backend> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing && !existing.isSocket()) throw new Error(`socket=${path}: exists and is not a socket`);
  await rm(path, { force: true });
  let client: Socket | undefined;
  // What a client types before the VM is wired is kept (bounded) and handed over then.
  const early: Buffer[] = [];
  let input: (d: Buffer) => void = (d) => {
    if (early.reduce((n, b) => n + b.length, 0) + d.length <= 65536) early.push(d);
  };
  const server = createServer((s) => {
    if (client) {
      s.end('hyperkit: COM1 already has a client\n');
      return;
    }
    client = s;
    s.on('data', (d: Buffer) => input(d));
    s.on('error', () => {});
    s.on('close', () => {
      if (client === s) client = undefined;
    });
  });
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(old);
  }
  await chmod(path, 0o600);
  console.error(`hyperkit: COM1 listening on ${path}`);
  return {
    write: (d) => {
      if (client && client.writableLength < COM1_BACKLOG) client.write(Buffer.from(d));
    },
    onInput: (f) => {
      input = f;
      for (const d of early.splice(0)) f(d);
    },
    close: async () => {
      client?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(path, { force: true });
    },
  };
}

/** Backlog kept for a terminal or socket nobody reads; beyond it the guest's output is dropped, as a UART's would be. */
const COM1_BACKLOG = 1 << 20;

/**
 * COM1 on a pseudo-terminal (`-l com1,autopty[=LINK]`): its path is printed on stderr and,
 * with LINK, a symbolic link to it is made (and removed at exit). Output waits for a reader
 * up to COM1_BACKLOG bytes; the terminal's input goes to the UART.
 */
async function openTerminal(link: string | undefined): Promise<Com1Backend> {
  if (link !== undefined) {
    const existing = await lstat(link).catch(() => undefined);
    if (existing && !existing.isSymbolicLink()) throw new Error(`autopty=${link}: exists and is not a symbolic link`);
  }
  const pty = openPty();
  const master = new ReadStream(pty.fd);
  // EIO when the last reader of the terminal closes it: not an error for the VM.
  master.on('error', () => {});
  if (link !== undefined) {
    await rm(link, { force: true });
    await symlink(pty.path, link);
  }
  console.error(`hyperkit: COM1 connected to ${pty.path}${link !== undefined ? ` (${link})` : ''}`);
  return {
    write: (d) => {
      if (master.writableLength < COM1_BACKLOG) master.write(Buffer.from(d));
    },
    onInput: (f) => master.on('data', f),
    close: async () => {
      master.destroy();
      if (link !== undefined) await rm(link, { force: true });
    },
  };
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
