import { describe, expect, it } from 'vitest';
import { ChannelError } from './errors.js';
import { clientAccepts, serverVersion } from './version.js';

describe('serverVersion', () => {
  it('answers min(msize, max) and the dialect asked for when supported', () => {
    expect(serverVersion({ msize: 1 << 20, version: '9P2000.L', maxMsize: 65536 })).toEqual({ msize: 65536, version: '9P2000.L' });
    expect(serverVersion({ msize: 4096, version: '9P2000.u', maxMsize: 65536 })).toEqual({ msize: 4096, version: '9P2000.u' });
  });

  it('falls back to the base 9P2000, or unknown', () => {
    expect(serverVersion({ msize: 8192, version: '9P2000.u', maxMsize: 8192, dialects: ['9P2000'] }).version).toBe('9P2000');
    expect(serverVersion({ msize: 8192, version: '9P2000.u', maxMsize: 8192, dialects: ['9P2000.L'] }).version).toBe('unknown');
    expect(serverVersion({ msize: 8192, version: 'NFSv4', maxMsize: 8192 }).version).toBe('unknown');
    expect(serverVersion({ msize: 8192, version: '9P2000.X', maxMsize: 8192 }).version).toBe('9P2000');
    expect(serverVersion({ msize: 10, version: '9P2000.L', maxMsize: 8192 }).version).toBe('unknown');
  });
});

describe('clientAccepts', () => {
  const asked = { msize: 8192, version: '9P2000.L' as const };
  it('accepts a smaller msize and the same version or a downgrade', () => {
    expect(clientAccepts({ asked, reply: { msize: 4096, version: '9P2000.L' } })).toEqual({ msize: 4096, dialect: '9P2000.L' });
    expect(clientAccepts({ asked, reply: { msize: 8192, version: '9P2000' } }).dialect).toBe('9P2000');
  });

  it('refuses a larger msize, unknown and upgrades', () => {
    expect(() => clientAccepts({ asked, reply: { msize: 8193, version: '9P2000.L' } })).toThrow(ChannelError);
    expect(() => clientAccepts({ asked, reply: { msize: 100, version: '9P2000.L' } })).toThrow(/minimum/);
    expect(() => clientAccepts({ asked, reply: { msize: 8192, version: 'unknown' } })).toThrow(/unknown/);
    expect(() =>
      clientAccepts({ asked: { msize: 8192, version: '9P2000' }, reply: { msize: 8192, version: '9P2000.L' } }),
    ).toThrow(ChannelError);
    expect(() => clientAccepts({ asked, reply: { msize: 8192, version: '9P2000.u' }, accept: ['9P2000.L'] })).toThrow();
  });
});
