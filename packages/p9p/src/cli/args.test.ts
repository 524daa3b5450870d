// The p9p command line, parsed without running anything.
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseArgs({ argv, env });
const usage = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    parse(argv, env);
    return 'ok';
  } catch (e) {
    return e instanceof UsageError ? e.message : `not a usage error: ${String(e)}`;
  }
};

describe('parseArgs', () => {
  it('parses serve with a unix or loopback TCP address', () => {
    expect(parse(['serve', '/srv', '--listen', 'unix!/tmp/s', '--ro'])).toEqual({
      kind: 'serve',
      dir: '/srv',
      listen: { kind: 'unix', path: '/tmp/s' },
      readOnly: true,
    });
    expect(parse(['serve', 'd', '--listen', 'tcp!127.0.0.1!5640'])).toMatchObject({ listen: { kind: 'tcp', host: '127.0.0.1', port: 5640 }, readOnly: false });
    expect(parse(['serve', 'd', '--listen', 'tcp!localhost!0'])).toMatchObject({ kind: 'serve' });
  });

  it('parses --map-uid and --map-gid ranges for serve', () => {
    expect(parse(['serve', 'd', '--listen', 'unix!/s', '--map-uid', '0:100000:65536', '--map-uid', '70000:0', '--map-gid', '1000:5000:10'])).toMatchObject({
      uidMap: [{ guest: 0, host: 100_000, count: 65_536 }, { guest: 70_000, host: 0 }],
      gidMap: [{ guest: 1000, host: 5000, count: 10 }],
    });
    expect(parse(['serve', 'd', '--listen', 'unix!/s'])).not.toHaveProperty('uidMap');
    expect(usage(['serve', 'd', '--listen', 'unix!/s', '--map-uid', '1000'])).toMatch(/GUEST:HOST\[:COUNT\]/);
    expect(usage(['serve', 'd', '--listen', 'unix!/s', '--map-gid', '-1:0'])).toMatch(/GUEST:HOST/);
    expect(usage(['-a', 'unix!/s', 'ls', '--map-uid', '0:0'])).toMatch(/--map-uid/);
  });

  it('refuses TCP off loopback unless --public is given', () => {
    expect(usage(['serve', 'd', '--listen', 'tcp!0.0.0.0!5640'])).toMatch(/not loopback/);
    expect(usage(['serve', 'd', '--listen', 'tcp!*!5640'])).toMatch(/not loopback/);
    expect(parse(['serve', 'd', '--listen', 'tcp!*!5640', '--public'])).toMatchObject({ listen: { host: '0.0.0.0' } });
  });

  it('parses client commands, with -a or $P9P_ADDR', () => {
    expect(parse(['-a', 'unix!/s', 'ls', '-l'])).toEqual({ kind: 'client', op: 'ls', address: { kind: 'unix', path: '/s' }, long: true, paths: [''] });
    expect(parse(['read', 'a/b'], { P9P_ADDR: 'tcp!127.0.0.1!564' })).toMatchObject({ op: 'read', paths: ['a/b'], address: { port: 564 } });
    expect(parse(['-a', 'unix!/x', 'mv', 'a', 'b'], { P9P_ADDR: 'unix!/y' })).toMatchObject({ op: 'mv', address: { path: '/x' } });
    expect(parse(['-a', 'unix!/x', 'rm', '--', '-odd'])).toMatchObject({ op: 'rm', paths: ['-odd'] });
  });

  it('answers help and version before anything else', () => {
    expect(parse(['ls', '--help'])).toEqual({ kind: 'help' });
    expect(parse(['-h'])).toEqual({ kind: 'help' });
    expect(parse(['--version'])).toEqual({ kind: 'version' });
  });

  it('reports usage errors in one line', () => {
    expect(usage([])).toBe('no command');
    expect(usage(['frob'])).toMatch(/unknown command/);
    expect(usage(['-Z', 'ls'])).toBe('unknown option -Z');
    expect(usage(['ls'])).toMatch(/no server address/);
    expect(usage(['-a', 'udp!x!1', 'ls'])).toMatch(/network must be tcp or unix/);
    expect(usage(['-a', 'unix!/s', 'read'])).toMatch(/read takes 1 path/);
    expect(usage(['-a', 'unix!/s', 'mv', 'a'])).toMatch(/mv takes 2 paths/);
    expect(usage(['-a', 'unix!/s', 'stat', '-l', 'x'])).toMatch(/-l is for ls/);
    expect(usage(['serve', 'd'])).toMatch(/--listen/);
    expect(usage(['serve', '--listen', 'unix!/s'])).toMatch(/one directory/);
    expect(usage(['-a'])).toMatch(/needs a value/);
  });
});
