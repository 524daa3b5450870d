import { describe, expect, it } from 'vitest';
import { SyscallError } from '../errors.js';
import { close, eventfd, read, write } from './libc.js';

const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

describe.skipIf(process.platform !== 'linux')('libc: eventfd, read, write', () => {
  it('adds what is written to an eventfd and hands the sum to one read, which resets it', () => {
    const fd = eventfd();
    try {
      expect(write(fd, u64(3n))).toBe(8);
      expect(write(fd, u64(4n))).toBe(8);
      const buf = new Uint8Array(8);
      expect(read(fd, buf)).toBe(8);
      expect(new BigUint64Array(buf.buffer)[0]).toBe(7n);
      // Non-blocking and now zero: the read fails with EAGAIN, named.
      expect(() => read(fd, buf)).toThrow(SyscallError);
      try {
        read(fd, buf);
      } catch (e) {
        expect((e as SyscallError).code).toBe('EAGAIN');
      }
    } finally {
      close(fd);
    }
  });

  it('names the errno of a failed call on a closed descriptor', () => {
    const fd = eventfd();
    close(fd);
    expect(() => write(fd, u64(1n))).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
