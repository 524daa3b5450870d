import { describe, expect, it } from 'vitest';
import { parseAddress, parseArgs, UsageError } from './args.js';

describe('parseArgs', () => {
  it('parses serve with every address spelling', () => {
    expect(parseArgs(['serve', '--git', '/r', '--listen', 'unix:/s', '--listen=tcp!127.0.0.1!5640', '--listen', 'tcp:localhost:0'])).toEqual({
      help: false,
      command: 'serve',
      git: '/r',
      listen: [
        { kind: 'unix', path: '/s' },
        { kind: 'tcp', host: '127.0.0.1', port: 5640 },
        { kind: 'tcp', host: 'localhost', port: 0 },
      ],
      verbose: false,
      fsync: 'always',
    });
    expect(parseArgs(['serve', '--git', '/r', '--listen', 'unix:/s', '--fsync=never'])).toMatchObject({ fsync: 'never' });
    expect(parseArgs(['serve', '--git', '/r', '--listen', 'unix:/s', '--fsync', 'always'])).toMatchObject({ fsync: 'always' });
    expect(parseAddress('unix!/x')).toEqual({ kind: 'unix', path: '/x' });
  });

  it('asks for help', () => {
    expect(parseArgs(['--help'])).toEqual({ help: true });
    expect(parseArgs(['serve', '-h'])).toEqual({ help: true });
  });

  it('refuses what it does not understand', () => {
    const cases: [string[], RegExp][] = [
      [[], /no command/],
      [['frob'], /unknown command "frob"/],
      [['serve', '--listen', 'unix:/s'], /--git DIR is required/],
      [['serve', '--git', '/r'], /--listen ADDR is required/],
      [['serve', '--git'], /--git needs a value/],
      [['serve', '--git', '/r', '--listen', 'udp!x!1'], /bad --listen address/],
      [['serve', '--git', '/r', '--listen', 'tcp!h!99999'], /bad --listen address/],
      [['serve', '--git', '/r', '--listen', 'unix:/s', '--frob'], /unknown option --frob/],
      [['serve', '--git', '/r', '--listen', 'unix:/s', '--fsync=sometimes'], /--fsync must be always or never/],
    ];
    for (const [argv, re] of cases) {
      expect(() => parseArgs(argv)).toThrow(UsageError);
      expect(() => parseArgs(argv)).toThrow(re);
    }
  });
});
