import { describe, expect, it } from 'vitest';
import { ERRNO } from './errno.js';
import { RemoteError } from './errors.js';

describe('RemoteError made to be answered', () => {
  it('reply(): the same error as the constructor gives, without stack frames, and the stack limit left as it was', () => {
    const limit = Error.stackTraceLimit;
    const e = RemoteError.reply(ERRNO.ENOENT, 'ENOENT: no "x" here');
    expect(e).toBeInstanceOf(RemoteError);
    expect([e.errno, e.code, e.message]).toEqual([ERRNO.ENOENT, 'ENOENT', 'ENOENT: no "x" here']);
    expect(e.stack ?? '').not.toMatch(/\n\s+at /);
    expect(new RemoteError(ERRNO.ENOENT).stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('fromLerror / fromRerror (errors read from a reply) are made the same way', () => {
    expect(RemoteError.fromLerror(0).errno).toBe(ERRNO.EIO);
    expect(RemoteError.fromLerror(ERRNO.EACCES).stack ?? '').not.toMatch(/\n\s+at /);
    const r = RemoteError.fromRerror('file does not exist');
    expect([r.errno, r.message]).toEqual([ERRNO.ENOENT, 'ENOENT: file does not exist']);
    expect(r.stack ?? '').not.toMatch(/\n\s+at /);
  });
});
