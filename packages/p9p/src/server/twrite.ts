/*
 * A Twrite that arrived in pieces.
 *
 * intro(5): "size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]"
 *
 * A Twrite larger than one socket read (every one over 64 KiB from a Node
 * socket) is not copied into one frame by the channel: the server gets its
 * fixed fields (the first 23 bytes) and its data as the chunk views it
 * arrived in (channel/framer.ts, `scatter`), and a handler with `writev`
 * writes them with one positional writev. Here the fixed fields are decoded
 * with the ordinary decoder (same checks: type in the dialect, field
 * bounds), and count[4] is checked against the bytes that came.
 */
import { decode } from '../codec/decode.js';
import { ProtocolError } from '../codec/errors.js';
import type { Dialect, Fcall } from '../codec/types.js';
import { SCATTER_HEAD } from '../channel/framer.js';

/** Twrite's type[1]. */
export const TWRITE = 118;

/**
 * Decodes the fixed fields of a Twrite whose data is `rest`; the message
 * returned has empty `data` (the caller keeps `rest`). Throws ProtocolError,
 * with the tag when it could be read, as decode() does.
 */
export function decodeScatteredWrite(head: Uint8Array, rest: readonly Uint8Array[], dialect: Dialect): Fcall & { type: 'Twrite' } {
  // A copy of the 23-byte head, made into a whole Twrite with no data.
  const h = new Uint8Array(SCATTER_HEAD);
  h.set(head.subarray(0, SCATTER_HEAD));
  const count = (h[19]! | (h[20]! << 8) | (h[21]! << 16)) + h[22]! * 0x1000000;
  h.set([SCATTER_HEAD, 0, 0, 0], 0);
  h.set([0, 0, 0, 0], 19);
  const m = decode(h, dialect);
  const tag = h[5]! | (h[6]! << 8);
  if (head.length !== SCATTER_HEAD || m.type !== 'Twrite') {
    throw new ProtocolError('a scattered frame that is not a Twrite', { reason: 'internal', tag, type: h[4] });
  }
  if (count !== piecesLength(rest)) {
    throw new ProtocolError(`Twrite count[4] is ${count} but ${piecesLength(rest)} bytes follow`, { reason: 'size-mismatch', tag, type: TWRITE });
  }
  return m;
}

export function piecesLength(pieces: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

/** The pieces as one buffer (for a handler without writev). */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.allocUnsafe(piecesLength(pieces));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
