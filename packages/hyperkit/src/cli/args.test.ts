import { describe, expect, it } from 'vitest';
import { exitStatus, parseArgs, parseMemory } from './args.js';

describe('hyperkit command line', () => {
  it('parses the flags Docker for Mac passed to hyperkit', () => {
    const a = parseArgs([
      '-A', '-u', '-F', '/run/hk.pid', '-c', '2', '-m', '2G', '-s', '0:0,hostbridge', '-s', '31,lpc',
      '-l', 'com1,stdio', '-U', 'C3F1C2E0-1111-2222-3333-444455556666',
      '-f', 'kexec,/boot/vmlinuz,/boot/initrd.img,"console=ttyS0 root=/dev/vda,rw"',
    ]);
    expect(a).toMatchObject({
      cpus: 2,
      memoryMiB: 2048,
      kernel: '/boot/vmlinuz',
      initrd: '/boot/initrd.img',
      cmdline: 'console=ttyS0 root=/dev/vda,rw',
      com1: { kind: 'stdio' },
      pidfile: '/run/hk.pid',
      uuid: 'c3f1c2e0-1111-2222-3333-444455556666',
      acpi: true,
    });
    expect(parseArgs(['-f', 'kexec,k']).acpi).toBe(false);
  });

  it('accepts --help and --version as every command line tool does', () => {
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['--version']).version).toBe(true);
  });

  it('accepts combined flags and attached values', () => {
    expect(parseArgs(['-Au', '-c4', '-m512M', '-fkexec,k,,']).cpus).toBe(4);
    expect(parseArgs(['-l', 'com1,log=/tmp/c.log', '-f', 'kexec,k']).com1).toEqual({ kind: 'log', path: '/tmp/c.log' });
  });

  it('refuses what it cannot honour, naming it', () => {
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '2:0,virtio-net'])).toThrow(/virtio-net is not supported yet/);
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '2:0,virtio-blk'])).toThrow(/needs a path/);
    expect(parseArgs(['-f', 'kexec,k', '-s', '2:0,virtio-blk,disk.img,ro']).devices).toEqual([{ type: 'block', path: 'disk.img', slot: 2, readOnly: true }]);
    expect(parseArgs(['-f', 'kexec,k', '-s', '3,virtio-rnd']).devices).toEqual([{ type: 'rng', slot: 3 }]);
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '0,virtio-rnd'])).toThrow(/slot must be 1-31/);
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '32,virtio-rnd'])).toThrow(/slot must be 1-31/);
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '4:1,virtio-rnd'])).toThrow(/only function 0/);
    expect(() => parseArgs(['-f', 'kexec,k', '-s', '4,virtio-rnd', '-s', '4,virtio-console'])).toThrow(/slot 4 is already taken/);
    expect(parseArgs(['-f', 'kexec,k', '-l', 'com1,autopty']).com1).toEqual({ kind: 'autopty' });
    expect(parseArgs(['-f', 'kexec,k', '-l', 'com1,autopty=/run/c1']).com1).toEqual({ kind: 'autopty', link: '/run/c1' });
    expect(() => parseArgs(['-f', 'kexec,k', '-l', 'com1,tcp=1234'])).toThrow(/supported backends are stdio, autopty/);
    expect(() => parseArgs(['-f', 'fbsd,k'])).toThrow(/only kexec/);
    expect(() => parseArgs(['-c'])).toThrow(/-c needs an argument/);
    expect(() => parseArgs(['-Z'])).toThrow(/unknown option -Z/);
    expect(() => parseArgs(['-c', 'two', '-f', 'kexec,k'])).toThrow(/expected a number/);
    expect(() => parseArgs(['-U', 'nope', '-f', 'kexec,k'])).toThrow(/not a UUID/);
    expect(() => parseArgs([])).toThrow(/no kernel/);
    expect(() => parseArgs(['-f', 'kexec,k,i,"open'])).toThrow(/unbalanced quote/);
  });

  it('reads memory sizes as hyperkit does', () => {
    expect(parseMemory('1024')).toBe(1024);
    expect(parseMemory('1G')).toBe(1024);
    expect(parseMemory('65536K')).toBe(64);
    expect(() => parseMemory('8')).toThrow(/at least 16/);
    expect(() => parseMemory('1T')).toThrow(/expected a size/);
  });

  it('maps how the VM ended to bhyve exit statuses', () => {
    expect([exitStatus('reset'), exitStatus('poweroff'), exitStatus('stopped'), exitStatus('shutdown'), exitStatus('error')]).toEqual([0, 1, 1, 3, 4]);
  });
});
