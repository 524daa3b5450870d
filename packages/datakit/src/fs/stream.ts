/**
 * Stream files (`head.live`, `reflog`): datakit vfs.ml `File.Stream` and `Fd.of_stream`.
 *
 *   "Linux requires a blocking read to return "" to indicate that it is blocking.
 *    Otherwise, it doesn't return the existing data to the application."
 *   read: "if offset <> !current_offset then err_stream_seek
 *          else if !need_flush then (need_flush := false; ok empty)
 *          else Stream.read stream count ..."
 *
 * A source yields the next chunk, waiting as long as it must; the fid keeps the
 * position, the unread rest of a line and the empty read after each chunk.
 */
import { FsError, readOnlyFile, streamSeek } from './errors.js';
import type { Node, OpenFile, OpenRequest, Stat } from './node.js';

/** What one open stream reads from: the next chunk (waits until there is one). */
export interface StreamSource {
  next(signal: AbortSignal): Promise<Uint8Array>;
  close?(): void;
}

export class StreamFile implements Node {
  readonly kind = 'file';
  constructor(
    readonly name: string,
    readonly key: string,
    private readonly source: () => Promise<StreamSource>,
  ) {}

  stat(): Promise<Stat> {
    return Promise.resolve({ size: 0, perm: 0o444 });
  }

  async open(req: OpenRequest): Promise<OpenFile> {
    if (req.write) throw readOnlyFile();
    const src = await this.source();
    let position = 0;
    let needFlush = false;
    let pending: Uint8Array = new Uint8Array(0);
    let reading = false;
    return {
      read: async (offset, count, signal) => {
        if (offset !== position) throw streamSeek();
        if (needFlush) {
          needFlush = false;
          return new Uint8Array(0);
        }
        if (reading) throw new FsError('EBUSY', 'A read is already waiting on this stream');
        reading = true;
        try {
          while (pending.length === 0) pending = await src.next(signal);
        } finally {
          reading = false;
        }
        const out = pending.subarray(0, count);
        pending = pending.subarray(out.length);
        position += out.length;
        needFlush = true;
        return out;
      },
      write: () => Promise.reject(readOnlyFile()),
      close: () => src.close?.(),
    };
  }
}
