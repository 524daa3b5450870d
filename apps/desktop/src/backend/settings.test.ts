import { describe, expect, it } from 'vitest';
import { SettingsError, defaultSettings, parseSettings } from './settings.js';

const host = { cpus: 8, memoryMiB: 16384, home: '/home/u' };

describe('settings', () => {
  it('fills defaults for an empty object', () => {
    expect(parseSettings('{}', host)).toEqual(defaultSettings(host));
    expect(defaultSettings(host)).toEqual({ cpus: 4, memoryMiB: 4096, diskGiB: 64, dockerSocket: '/home/u/.kitbox/run/docker.sock' });
  });

  it('accepts valid values', () => {
    expect(parseSettings('{"cpus":2,"memoryMiB":2048,"diskGiB":32,"dockerSocket":"/tmp/d.sock"}', host)).toEqual({
      cpus: 2,
      memoryMiB: 2048,
      diskGiB: 32,
      dockerSocket: '/tmp/d.sock',
    });
  });

  it('reports every problem at once, each naming its field', () => {
    let err: unknown;
    try {
      parseSettings('{"cpus":0,"memoryMiB":"lots","diskGiB":1.5,"dockerSocket":"rel.sock","colour":"blue"}', host, 'x.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const problems = (err as SettingsError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/"cpus" must be between 1 and 8, got 0/);
    expect(problems.join('\n')).toMatch(/"memoryMiB" must be a whole number of MiB, got "lots"/);
    expect(problems.join('\n')).toMatch(/"diskGiB" must be a whole number/);
    expect(problems.join('\n')).toMatch(/"dockerSocket" must be an absolute path/);
    expect(problems.join('\n')).toMatch(/unknown setting "colour"/);
    expect((err as Error).message).toMatch(/^x\.json: invalid settings/);
  });

  it('refuses more memory than the host can spare and socket paths the kernel cannot bind', () => {
    expect(() => parseSettings('{"memoryMiB": 16000}', host)).toThrow(/between 512 and 12288 MiB/);
    expect(() => parseSettings(JSON.stringify({ dockerSocket: `/${'a'.repeat(120)}` }), host)).toThrow(/limited to 103/);
  });

  it('gives a clear error for text that is not a JSON object', () => {
    expect(() => parseSettings('{cpus: 2}', host)).toThrow(/not valid JSON/);
    expect(() => parseSettings('[1]', host)).toThrow(/must hold a JSON object/);
    expect(() => parseSettings('null', host)).toThrow(/must hold a JSON object/);
  });
});
