/*
 * Node streams over a file's contents.
 *
 * read(5): "size[4] Tread tag[2] fid[4] offset[8] count[4]"; a count of zero
 *   at end of file.
 * write(5): "size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]"
 *
 * The readable issues one Tread (at most one iounit) per _read, so a slow
 * consumer stops the reads; the writable's _write resolves after the Rwrite,
 * so a slow server holds back the producer. Both clunk their fid when done
 * or destroyed.
 */
import { Readable, Writable } from 'node:stream';
import { P9_DOTL_RDONLY, P9_DOTL_TRUNC, P9_DOTL_WRONLY } from '../codec/constants.js';
import type { File } from './file.js';
import type { Session } from './session.js';
import { RemoteError } from '../channel/errors.js';
import { ERRNO } from '../channel/errno.js';

/**
 * A Readable of a file's contents from `start` (default 0).
 *
 * @example
 *   createReadStream({ session, path: 'big.log' }).pipe(process.stdout);
 */
export function createReadStream(opts: { session: Session; path: string; start?: number | bigint }): Readable {
  let file: File | undefined;
  let offset = BigInt(opts.start ?? 0);
  return new Readable({
    construct(cb) {
      opts.session.open({ path: opts.path, flags: P9_DOTL_RDONLY }).then(
        (f) => {
          file = f;
          cb();
        },
        (e: Error) => cb(e),
      );
    },
    read() {
      const f = file;
      if (f === undefined) return;
      f.read({ offset, count: f.chunk }).then(
        (data) => {
          offset += BigInt(data.length);
          this.push(data.length === 0 ? null : data);
        },
        (e: Error) => this.destroy(e),
      );
    },
    destroy(err, cb) {
      const f = file;
      file = undefined;
      if (f === undefined) cb(err);
      else f.close().then(() => cb(err), () => cb(err));
    },
  });
}

/**
 * A Writable that replaces (or creates, with `mode`) a file's contents.
 *
 * @example
 *   await pipeline(fs.createReadStream('local'), createWriteStream({ session, path: 'remote' }));
 */
export function createWriteStream(opts: { session: Session; path: string; mode?: number }): Writable {
  let file: File | undefined;
  let offset = 0n;
  const flags = P9_DOTL_WRONLY | P9_DOTL_TRUNC;
  return new Writable({
    construct(cb) {
      opts.session
        .open({ path: opts.path, flags })
        .catch((e: unknown) => {
          if (e instanceof RemoteError && e.errno === ERRNO.ENOENT) {
            return opts.session.create({ path: opts.path, flags, mode: opts.mode });
          }
          throw e;
        })
        .then(
          (f) => {
            file = f;
            cb();
          },
          (e: Error) => cb(e),
        );
    },
    write(chunk: Buffer, _enc, cb) {
      const f = file;
      if (f === undefined) {
        cb(new Error('the file is closed'));
        return;
      }
      f.write({ offset, data: chunk }).then(
        (n) => {
          offset += BigInt(n);
          cb();
        },
        (e: Error) => cb(e),
      );
    },
    final(cb) {
      const f = file;
      file = undefined;
      if (f === undefined) cb();
      else f.close().then(() => cb(), (e: Error) => cb(e));
    },
    destroy(err, cb) {
      const f = file;
      file = undefined;
      if (f === undefined) cb(err);
      else f.close().then(() => cb(err), () => cb(err));
    },
  });
}
