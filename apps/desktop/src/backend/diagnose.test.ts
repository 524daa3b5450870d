import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagnose, formatChecks } from './diagnose.js';

describe('diagnose', () => {
  it('exercises the kits and reports each check', async () => {
    const checks = await diagnose();
    const store = checks.find((c) => c.area === 'datakit');
    expect(store?.ok, store?.detail).toBe(true);
    expect(store?.detail).toMatch(/^commit [0-9a-f]{12} on master/);
    const kvm = checks.find((c) => c.area === 'hyperkit');
    expect(kvm?.ok, kvm?.detail).toBe(existsSync('/dev/kvm'));
    if (kvm?.ok) expect(kvm.detail).toMatch(/^API 12,/);
    const guest = checks.find((c) => c.name.startsWith('run a guest'));
    expect(guest?.ok, guest?.detail).toBe(existsSync('/dev/kvm'));
    if (guest?.ok) expect(guest.detail).toMatch(/wrote "5\\n" to port 0x3f8, then halted: 3 VM exits/);
    expect(formatChecks(checks).split('\n')).toHaveLength(checks.length);
  });

  it('reports a missing KVM device as a failed optional check, not a crash', async () => {
    const checks = await diagnose({ kvmPath: '/nonexistent/kvm' });
    const kvm = checks.find((c) => c.area === 'hyperkit');
    expect(kvm).toMatchObject({ ok: false, optional: true });
    expect(kvm?.detail).toMatch(/ENOENT/);
  });
});
