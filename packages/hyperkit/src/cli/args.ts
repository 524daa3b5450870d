/**
 * moby/hyperkit's command line (itself bhyve's), parsed into a `createVm` configuration, so
 * that scripts written for hyperkit carry over:
 *
 *   hyperkit [-behuwxACHPWY] [-c vcpus] [-F pidfile] [-g gdb port] [-l lpc] [-m mem]
 *            [-p vcpu:hostcpu] [-s pci] [-U uuid] -f kexec,KERNEL,INITRD,"CMDLINE"
 *
 * Pure: no I/O. Options this VMM cannot honour yet are refused with a clear error rather
 * than silently ignored; options that change nothing here (-A, -u, -H, -P, -e) are accepted
 * and reported in `notes`.
 */
import type { DeviceConfig } from '../vm/machine.js';

export interface HyperkitArgs {
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** COM1: `stdio`, or a log file. */
  com1?: { kind: 'stdio' } | { kind: 'log'; path: string } | { kind: 'autopty'; link?: string } | { kind: 'socket'; path: string };
  pidfile?: string;
  uuid?: string;
  help: boolean;
  version: boolean;
  notes: string[];
  /** virtio devices from -s, each on the PCI slot it names. */
  devices: DeviceConfig[];
  /** -A: ACPI tables (and so the guest's power-off), as bhyve generates them only when asked. */
  acpi: boolean;
}

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export const USAGE = `Usage: hyperkit [-behuwxACHPWY] [-c vcpus] [-F <pidfile>] [-l <lpc>] [-m mem]
                [-s <pci>] [-U uuid] -f kexec,<kernel>,<initrd>,"<cmdline>"
  -c  vCPUs (default 1)                  -m  memory: MiB, or with a K/M/G suffix (default 256M)
  -f  kexec,KERNEL,INITRD,"CMDLINE"      -l  com1,stdio | com1,autopty[=LINK] | com1,log=FILE
                                             | com1,socket=PATH (a Unix socket, 0600, one client)
  -F  write the process id to a file     -U  the VM's UUID
  -s  slot[:func],driver[,opts]: virtio-rnd (entropy), virtio-blk,PATH[,ro] (a raw
      image), virtio-console (/dev/hvc0, to the same place as COM1) on PCI slot 1-31,
      function 0; hostbridge and lpc are accepted (always present)
  -A  ACPI tables, so the guest can power off       -u -H -P -e are accepted
  -h  this help                          -v  version
Exit status: 0 guest reset (reboot), 1 guest powered off (or stopped by a signal), 3 triple fault, 4 error.`;

const WITH_ARG = new Set(['c', 'F', 'g', 'l', 'm', 'p', 's', 'U', 'f']);
const FLAGS = new Set(['b', 'e', 'h', 'u', 'w', 'x', 'A', 'C', 'H', 'P', 'W', 'Y', 'v']);

/** Splits `a,b,"c,d"` on commas outside double quotes, removing the quotes. */
function splitCommas(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new UsageError(`unbalanced quote in ${JSON.stringify(s)}`);
  out.push(cur);
  return out;
}

export function parseMemory(s: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(s);
  if (!m) throw new UsageError(`-m ${s}: expected a size such as 512, 512M or 2G`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const mib = unit === 'G' ? n * 1024 : unit === 'K' ? n / 1024 : n;
  if (!Number.isInteger(mib) || mib < 16) throw new UsageError(`-m ${s}: at least 16 MiB, in whole MiB`);
  return mib;
}

export function parseArgs(argv: readonly string[]): HyperkitArgs {
  const opts: [string, string | undefined][] = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i] as string;
    if (a === '--help') a = '-h';
    else if (a === '--version') a = '-v';
    if (!a.startsWith('-') || a === '-') throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (WITH_ARG.has(c)) {
        const rest = a.slice(j + 1);
        const value = rest !== '' ? rest : argv[++i];
        if (value === undefined) throw new UsageError(`-${c} needs an argument`);
        opts.push([c, value]);
        break;
      }
      if (!FLAGS.has(c)) throw new UsageError(`unknown option -${c}`);
      opts.push([c, undefined]);
    }
  }

  const r: HyperkitArgs = { cpus: 1, memoryMiB: 256, kernel: '', cmdline: '', help: false, version: false, notes: [], devices: [], acpi: false };
  for (const [c, v] of opts) {
    const value = v ?? '';
    switch (c) {
      case 'h':
        r.help = true;
        break;
      case 'v':
        r.version = true;
        break;
      case 'c': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`-c ${value}: expected a number of vCPUs`);
        r.cpus = n;
        break;
      }
      case 'm':
        r.memoryMiB = parseMemory(value);
        break;
      case 'f': {
        const [kind, kernel, initrd, ...cmd] = splitCommas(value);
        if (kind !== 'kexec') throw new UsageError(`-f ${kind}: only kexec,KERNEL,INITRD,"CMDLINE" is supported`);
        if (!kernel) throw new UsageError('-f kexec: the kernel path is missing');
        r.kernel = kernel;
        if (initrd) r.initrd = initrd;
        r.cmdline = cmd.join(',');
        break;
      }
      case 'l': {
        const [dev, backend] = splitCommas(value);
        if (dev !== 'com1') throw new UsageError(`-l ${dev}: only com1 exists`);
        if (backend === 'stdio') r.com1 = { kind: 'stdio' };
        else if (backend?.startsWith('log=') && backend.length > 4) r.com1 = { kind: 'log', path: backend.slice(4) };
        else if (backend === 'autopty') r.com1 = { kind: 'autopty' };
        else if (backend?.startsWith('autopty=') && backend.length > 8) r.com1 = { kind: 'autopty', link: backend.slice(8) };
        else if (backend?.startsWith('socket=') && backend.length > 7) r.com1 = { kind: 'socket', path: backend.slice(7) };
        else throw new UsageError(`-l com1,${backend ?? ''}: supported backends are stdio, autopty[=LINK], socket=PATH and log=FILE`);
        break;
      }
      case 's': {
        const [where, driver] = splitCommas(value);
        if (driver === 'hostbridge' || driver === 'lpc') {
          r.notes.push(`-s ${value}: nothing to add (COM1 is always present)`);
          break;
        }
        const m = /^(?:0:)?(\d{1,2})(?::(\d))?$/.exec(where ?? '');
        const slot = Number(m?.[1]);
        if (!m || slot < 1 || slot > 31) throw new UsageError(`-s ${value}: the slot must be 1-31, as slot or slot:function (0 is the host bridge)`);
        if (m[2] !== undefined && m[2] !== '0') throw new UsageError(`-s ${value}: only function 0 is supported`);
        if (r.devices.some((d) => d.slot === slot)) throw new UsageError(`-s ${value}: slot ${slot} is already taken`);
        if (driver === 'virtio-rnd') r.devices.push({ type: 'rng', slot });
        else if (driver === 'virtio-console') r.devices.push({ type: 'console', slot });
        else if (driver === 'virtio-blk') {
          const [, , path, ...rest] = splitCommas(value);
          if (path === undefined || path === '') throw new UsageError(`-s ${value}: virtio-blk needs a path (slot,virtio-blk,PATH[,ro])`);
          r.devices.push({ type: 'block', path, slot, ...(rest.includes('ro') ? { readOnly: true } : {}) });
        } else throw new UsageError(`-s ${value}: device ${driver ?? '?'} is not supported yet (virtio-rnd, virtio-blk and virtio-console are)`);
        break;
      }
      case 'F':
        r.pidfile = value;
        break;
      case 'U':
        if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value)) {
          throw new UsageError(`-U ${value}: not a UUID`);
        }
        r.uuid = value.toLowerCase();
        break;
      case 'A':
        r.acpi = true;
        break;
      case 'u':
      case 'H':
      case 'P':
      case 'e':
      case 'b':
      case 'w':
        break; // the RTC is UTC; HLT/PAUSE exits are KVM's; the rest have no effect here
      default:
        throw new UsageError(`-${c} is not supported`);
    }
  }
  if (!r.help && !r.version && !r.kernel) throw new UsageError('no kernel: give -f kexec,KERNEL,INITRD,"CMDLINE"');
  return r;
}

/** bhyve's exit statuses, which hyperkit keeps. */
export function exitStatus(reason: 'poweroff' | 'reset' | 'shutdown' | 'stopped' | 'error'): number {
  // bhyve's (and so moby/hyperkit's) statuses: 0 reset, 1 powered off, 3 triple fault, 4 error;
  // stopped by a signal counts as powered off, as bhyve's SIGTERM does.
  return { reset: 0, poweroff: 1, stopped: 1, shutdown: 3, error: 4 }[reason];
}
