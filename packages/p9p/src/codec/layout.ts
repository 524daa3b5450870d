/*
 * How one message's body is laid out: its size, writer and reader. Internal.
 *
 *   size[4] type[1] tag[2] body...
 *
 * `ext` is true for 9P2000.u and 9P2000.L: it is Linux protocol.c's '?'
 * ("if ((proto_version != p9_proto_2000u) && (proto_version != p9_proto_2000L))
 * return 0;"), which guards n_uname in Tauth/Tattach, errno in Rerror,
 * extension in Tcreate and the .u fields of a stat.
 */
import type { Reader, Writer } from './cursor.js';
import type { Dialect, Fcall, FcallOf, FcallType } from './types.js';

export const IN_9P2000 = 1;
export const IN_9P2000_U = 2;
export const IN_9P2000_L = 4;
/** 9P2000 and 9P2000.u */
export const CLASSIC = IN_9P2000 | IN_9P2000_U;
/** All three dialects. */
export const ALL = CLASSIC | IN_9P2000_L;

export const DIALECT_BIT: Readonly<Record<Dialect, number>> = {
  '9P2000': IN_9P2000,
  '9P2000.u': IN_9P2000_U,
  '9P2000.L': IN_9P2000_L,
};

export interface Layout<M extends Fcall> {
  /** Dialects that have this message (IN_* bits). */
  readonly dialects: number;
  /** Bytes after the 7-byte header; checks strings and counts. */
  size(m: M, ext: boolean): number;
  write(w: Writer, m: M, ext: boolean): void;
  read(r: Reader, tag: number, ext: boolean): M;
}

export type Layouts<K extends FcallType> = { readonly [N in K]: Layout<FcallOf<N>> };
