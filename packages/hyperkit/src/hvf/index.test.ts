import { describe, expect, it } from 'vitest';
import * as hvf from './index.js';

describe('the HVF backend module', () => {
  it('imports on any platform without loading koffi (nothing is bound until HvfVm.create)', () => {
    expect(typeof hvf.HvfVm.create).toBe('function');
    const { sharedObjects } = process.report.getReport() as { sharedObjects: string[] };
    expect(sharedObjects.some((p) => /koffi[^/\\]*\.node$/.test(p))).toBe(false);
  });

  it.skipIf(process.platform === 'darwin' && process.arch === 'x64')('fails HvfVm.create with HVF_UNAVAILABLE off an Intel Mac', () => {
    expect(() => hvf.HvfVm.create()).toThrowError(expect.objectContaining({ code: 'HVF_UNAVAILABLE' }) as Error);
  });
});
