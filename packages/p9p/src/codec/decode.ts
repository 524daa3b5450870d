/*
 * Decoding one whole frame, strictly.
 *
 * intro(5): "size[4] ... is the size of the message in bytes, including the
 *   4-byte size field itself."
 * version(5): "msize ... the maximum length, in bytes, it will ever generate
 *   or expect to receive in a single 9P message."
 *
 * Refused, as ProtocolError: a frame over maxSize, under 7 bytes, whose
 * size[4] is not its length, whose type is not a message of the dialect,
 * with a field running past the end, a count over its bound, a string that is
 * not UTF-8 or holds a NUL, or bytes left after the last field. Data fields
 * (Twrite, Rread, Rreaddir) are views into `frame`, not copies: copy them
 * before reusing the frame's buffer.
 */
import { Reader } from './cursor.js';
import { HEADER_SIZE } from './constants.js';
import { P9Error, ProtocolError } from './errors.js';
import { DIALECT_BIT } from './layout.js';
import { entryById } from './table.js';
import type { Dialect, Fcall } from './types.js';

export interface DecodeOptions {
  /** The negotiated msize: larger frames are refused. */
  maxSize?: number;
}

/**
 * Decodes one frame. Throws ProtocolError only; its `tag` (when the header
 * was readable) lets a server answer with Rerror/Rlerror.
 *
 * @example
 *   const msg = decode(frame, '9P2000.L', { maxSize: msize });
 *   if (msg.type === 'Twrite') handleWrite(msg.fid, msg.offset, msg.data);
 */
export function decode(frame: Uint8Array, dialect: Dialect, opts?: DecodeOptions): Fcall {
  const bit = DIALECT_BIT[dialect];
  if (bit === undefined) throw new P9Error('EINVAL', `unknown dialect ${String(dialect)}`);
  const n = frame.length;
  const r: Reader = new Reader(frame, 0, n);
  try {
    // Learn type and tag first, so that every refusal below can be answered.
    if (n >= 5) {
      r.pos = 4;
      r.type = r.u8('type');
    }
    if (n >= HEADER_SIZE) r.tag = r.u16('tag');
    r.pos = 0;
    const maxSize = opts?.maxSize;
    if (maxSize !== undefined && n > maxSize) r.fail('too-large', `frame of ${n} bytes, the most is ${maxSize}`);
    if (n < HEADER_SIZE) r.fail('truncated', `frame of ${n} bytes, a header needs ${HEADER_SIZE}`);
    const size = r.u32('size');
    if (size !== n) r.fail('size-mismatch', `size[4] is ${size} but the frame has ${n} bytes`);
    r.pos = HEADER_SIZE;
    const type = r.type ?? -1;
    const entry = entryById(type);
    if (entry === undefined || (entry.layout.dialects & bit) === 0) {
      r.fail('unknown-type', `type ${type}${entry ? ` (${entry.name})` : ''} is not a ${dialect} message`);
    }
    const msg = entry.layout.read(r, r.tag ?? 0, dialect !== '9P2000');
    r.done(entry.name);
    return msg;
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    // Unreachable by design; the contract is that only ProtocolError escapes.
    throw new ProtocolError(`decoder fault: ${String(e)}`, { reason: 'internal', tag: r.tag, type: r.type });
  }
}
