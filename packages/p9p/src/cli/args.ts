/*
 * The `p9p` command line, in the spirit of plan9port's 9p(1):
 *   "9p [ -a address ] read path", "... write path", "... ls [ -l ] path ...",
 *   "The -a flag ... dial string; ... the environment variable $NAMESPACE".
 * Here the address comes from -a or $P9P_ADDR; `serve` exports a directory.
 *
 * Parsing only: no I/O, so every case is testable. A bad command line throws
 * UsageError (exit status 2).
 */
import { parseDialString } from '../transport/dialstring.js';
import type { Address } from '../transport/dialstring.js';
import type { IdRange } from '../handlers/local.js';

export const USAGE = `Usage: p9p serve DIR --listen ADDR [--ro] [--public] [--map-uid G:H[:N]]... [--map-gid G:H[:N]]...
       p9p [-a ADDR] ls [-l] [PATH...]
       p9p [-a ADDR] read PATH          (the file to stdout)
       p9p [-a ADDR] write PATH         (stdin to the file, created or truncated)
       p9p [-a ADDR] stat PATH...
       p9p [-a ADDR] mkdir PATH...
       p9p [-a ADDR] rm PATH...
       p9p [-a ADDR] mv FROM TO
       p9p --help | --version

ADDR is a Plan 9 dial string: tcp!HOST!PORT or unix!/PATH (default: $P9P_ADDR).
serve speaks 9P2000.L; TCP is served on loopback only unless --public is given.
--ro refuses every change (EROFS). --map-uid G:H:N shows host uids H..H+N-1 as guest uids
G..G+N-1 (N defaults to 1; others show as 65534; chown maps back, EINVAL for an id not mapped);
--map-gid the same for groups. Exit status: 0 ok, 1 error (ENOENT, ...), 2 usage.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ClientOp = 'ls' | 'read' | 'write' | 'stat' | 'mkdir' | 'rm' | 'mv';

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'serve'; dir: string; listen: Address; readOnly: boolean; uidMap?: IdRange[]; gidMap?: IdRange[] }
  | { kind: 'client'; op: ClientOp; address: Address; long: boolean; paths: string[] };

const OPS: readonly string[] = ['ls', 'read', 'write', 'stat', 'mkdir', 'rm', 'mv'];

function address(s: string): Address {
  try {
    return parseDialString(s);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `G:H[:N]` for --map-uid / --map-gid. */
function idRange(flag: string, v: string): IdRange {
  const m = /^(\d{1,10}):(\d{1,10})(?::(\d{1,10}))?$/.exec(v);
  if (m === null) throw new UsageError(`${flag} takes GUEST:HOST[:COUNT], not ${JSON.stringify(v)}`);
  return { guest: Number(m[1]), host: Number(m[2]), ...(m[3] === undefined ? {} : { count: Number(m[3]) }) };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The command `argv` (without node and the script) asks for.
 *
 * @example
 *   parseArgs({ argv: ['-a', 'unix!/tmp/s', 'ls', '-l'], env: {} });
 */
export function parseArgs(opts: { argv: readonly string[]; env: Readonly<Record<string, string | undefined>> }): Command {
  let addr: string | undefined;
  let listen: string | undefined;
  let readOnly = false;
  let pub = false;
  let long = false;
  const uidMap: IdRange[] = [];
  const gidMap: IdRange[] = [];
  const words: string[] = [];
  const argv = [...opts.argv];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (a === '--version') return { kind: 'version' };
    if (a === '-a' || a === '--address') addr = value();
    else if (a === '--listen') listen = value();
    else if (a === '--ro') readOnly = true;
    else if (a === '--public') pub = true;
    else if (a === '--map-uid') uidMap.push(idRange(a, value()));
    else if (a === '--map-gid') gidMap.push(idRange(a, value()));
    else if (a === '-l') long = true;
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else words.push(a);
  }
  const [cmd, ...rest] = words;
  if (cmd === undefined) throw new UsageError('no command');
  if (cmd === 'serve') {
    if (rest.length !== 1) throw new UsageError('serve takes one directory');
    if (listen === undefined) throw new UsageError('serve needs --listen ADDR');
    const where = address(listen);
    if (where.kind === 'tcp' && !pub && !isLoopback(where.host)) {
      throw new UsageError(`refusing to serve on ${where.host}: not loopback (add --public to mean it)`);
    }
    if (long || addr !== undefined) throw new UsageError('serve takes no -l or -a');
    return { kind: 'serve', dir: rest[0]!, listen: where, readOnly, ...(uidMap.length > 0 ? { uidMap } : {}), ...(gidMap.length > 0 ? { gidMap } : {}) };
  }
  if (!OPS.includes(cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  if (listen !== undefined || readOnly || pub || uidMap.length > 0 || gidMap.length > 0) throw new UsageError(`${cmd} takes no --listen, --ro, --public or --map-uid/--map-gid`);
  if (long && cmd !== 'ls') throw new UsageError('-l is for ls');
  const op = cmd as ClientOp;
  const want: Record<ClientOp, [number, number]> = { ls: [0, Infinity], read: [1, 1], write: [1, 1], stat: [1, Infinity], mkdir: [1, Infinity], rm: [1, Infinity], mv: [2, 2] };
  const [min, max] = want[op];
  if (rest.length < min || rest.length > max) throw new UsageError(`${op} takes ${min === max ? min : `at least ${min}`} path${max === 1 ? '' : 's'}`);
  const a = addr ?? opts.env.P9P_ADDR;
  if (a === undefined || a === '') throw new UsageError('no server address: give -a ADDR or set P9P_ADDR');
  return { kind: 'client', op, address: address(a), long, paths: op === 'ls' && rest.length === 0 ? [''] : rest };
}
