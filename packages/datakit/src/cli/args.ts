/**
 * The `datakit` command line.
 *
 *   datakit serve --git DIR --listen ADDR [--listen ADDR ...]
 *
 * ADDR is a Plan 9 dial string (`unix!/path`, `tcp!host!port`), or `unix:/path` and
 * `tcp:host:port` (moby/datakit's own `--url` spellings are close to these).
 */
import type { Address } from '@kitbox/p9p';
import { parseDialString } from '@kitbox/p9p';

export const USAGE = `Usage: datakit serve --git DIR --listen ADDR [--listen ADDR ...] [--fsync=always|never]
       datakit [-a ADDR] read PATH | ls PATH | log BRANCH [-n N] | watch BRANCH
       datakit [-a ADDR] commit BRANCH MSG [--write PATH=FILE]... [--remove PATH]...
       datakit [-a ADDR] write BRANCH PATH [-m MSG] < DATA
       datakit [-a ADDR] branch list | create NAME | delete NAME
       (ADDR defaults to $DATAKIT_ADDR)

Serves the git repository DIR (a bare repository, created if missing) as moby/datakit's
9P filesystem: branch/ trees/ commits/ snapshots/ remotes/ debug/.

Options:
  --git DIR        the bare git repository
  --listen ADDR    where to listen: unix:PATH, unix!PATH, tcp!HOST!PORT or tcp:HOST:PORT
                   (may be repeated; a Unix socket is made mode 0600)
  --fsync=always   fsync a commit's objects and the ref before acknowledging it (default)
  --fsync=never    leave writing back to the kernel, as git's and libgit2's defaults do:
                   faster, but a power cut (not a crash of the server) can lose the
                   latest acknowledged commits
  --verbose        log connections and unexpected errors to stderr
  -h, --help       this text

Mount it on Linux with:
  mount -t 9p -o trans=unix,version=9p2000.L,cache=none PATH /mnt`;

export class UsageError extends Error {}

export type Args = { help: true } | { help: false; command: 'serve'; git: string; listen: Address[]; verbose: boolean; fsync: 'always' | 'never' };

export function parseAddress(s: string): Address {
  let ds = s;
  if (s.startsWith('unix:')) ds = `unix!${s.slice(5)}`;
  else if (/^tcp:[^!]*:\d+$/.test(s)) {
    const i = s.lastIndexOf(':');
    ds = `tcp!${s.slice(4, i)}!${s.slice(i + 1)}`;
  }
  try {
    return parseDialString(ds);
  } catch (err) {
    throw new UsageError(`bad --listen address ${JSON.stringify(s)}: ${(err as Error).message}`);
  }
}

export function parseArgs(argv: readonly string[]): Args {
  if (argv.length === 0) throw new UsageError('no command given');
  if (argv.includes('-h') || argv.includes('--help') || argv[0] === 'help') return { help: true };
  const [command, ...rest] = argv;
  if (command !== 'serve') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  let git: string | undefined;
  const listen: Address[] = [];
  let verbose = false;
  let fsync: 'always' | 'never' = 'always';
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--git':
        git = value();
        if (git === '') throw new UsageError('--git needs a directory');
        break;
      case '--listen':
        listen.push(parseAddress(value()));
        break;
      case '--verbose':
        verbose = true;
        break;
      case '--fsync': {
        const v = value();
        if (v !== 'always' && v !== 'never') throw new UsageError(`--fsync must be always or never, not ${JSON.stringify(v)}`);
        fsync = v;
        break;
      }
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (git === undefined) throw new UsageError('--git DIR is required');
  if (listen.length === 0) throw new UsageError('--listen ADDR is required');
  return { help: false, command: 'serve', git, listen, verbose, fsync };
}
