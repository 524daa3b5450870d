import { describe, expect, it } from 'vitest';
import { P9Error } from '../codec/errors.js';
import { formatDialString, parseDialString } from './dialstring.js';

describe('parseDialString', () => {
  it('parses tcp and unix', () => {
    expect(parseDialString('tcp!127.0.0.1!5640')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5640 });
    expect(parseDialString('tcp!example.org')).toEqual({ kind: 'tcp', host: 'example.org', port: 564 });
    expect(parseDialString('net!h!9fs')).toEqual({ kind: 'tcp', host: 'h', port: 564 });
    expect(parseDialString('unix!/run/x.sock')).toEqual({ kind: 'unix', path: '/run/x.sock' });
    expect(formatDialString({ kind: 'tcp', host: 'h', port: 1 })).toBe('tcp!h!1');
  });

  it('refuses the rest', () => {
    for (const s of ['', 'udp!h!1', 'tcp!', 'tcp!h!70000', 'tcp!h!x', 'unix!', 'tcp!h!1!2', '/path']) {
      expect(() => parseDialString(s), s).toThrow(P9Error);
    }
  });
});
