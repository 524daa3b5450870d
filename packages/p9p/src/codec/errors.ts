/*
 * Errors of the codec.
 *
 * intro(5): "... the server may respond to any other request with an Rerror."
 * A frame that cannot be decoded is answered, not thrown past the layer that
 * reads it: ProtocolError carries the frame's tag (and type) whenever the
 * 7-byte header could be read, so a server can send Rerror/Rlerror for it.
 */

/** Base of every error this package throws: a stable `code` and plain `data`. */
export class P9Error extends Error {
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, data: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }
}

/** Why a frame was refused. Stable: code may branch on it. */
export type ProtocolErrorReason =
  /** the frame is larger than maxSize (the negotiated msize) */
  | 'too-large'
  /** a field runs past the end of the frame (or the frame is under 7 bytes) */
  | 'truncated'
  /** size[4] does not equal the frame's length */
  | 'size-mismatch'
  /** the type byte names no message of this dialect */
  | 'unknown-type'
  /** bytes are left over after the last field */
  | 'trailing-bytes'
  /** a string is not UTF-8, or holds a NUL (intro(5): "NUL is illegal in all 9P text strings") */
  | 'bad-string'
  /** more than MAXWELEM (16) names in Twalk or qids in Rwalk */
  | 'too-many-elements'
  /** a stat's size[2] (or Rstat/Twstat's n[2]) disagrees with its contents */
  | 'bad-stat'
  /** a decoder bug turned into a ProtocolError rather than escaping as another type */
  | 'internal';

export type ProtocolErrorData = {
  reason: ProtocolErrorReason;
  /** The frame's tag, when its header could be read. */
  tag?: number;
  /** The frame's type byte, when it could be read. */
  type?: number;
  /** Offset in the frame (or buffer) where decoding stopped. */
  offset?: number;
};

/** A malformed frame or structure from the peer. code 'EPROTO'. */
export class ProtocolError extends P9Error {
  declare readonly data: Readonly<ProtocolErrorData>;

  constructor(message: string, data: ProtocolErrorData) {
    super('EPROTO', message, data);
  }

  get reason(): ProtocolErrorReason {
    return this.data.reason;
  }

  /** The tag to answer with an Rerror/Rlerror, when known. */
  get tag(): number | undefined {
    return this.data.tag;
  }
}

/** Why a value could not be encoded. */
export type EncodeErrorReason =
  /** a number or bigint out of its field's range, or not an integer */
  | 'out-of-range'
  /** a string over 65535 UTF-8 bytes, with a NUL or a lone surrogate */
  | 'bad-string'
  /** more than MAXWELEM (16) wnames/wqids */
  | 'too-many-elements'
  /** the message is not part of the dialect */
  | 'wrong-dialect'
  /** encodeInto: the buffer has no room for the frame */
  | 'buffer-too-small'
  /** a stat, or data, too large for its count field */
  | 'too-large';

/** A value that this codec refuses to put on the wire. code 'EINVAL'. */
export class EncodeError extends P9Error {
  declare readonly data: Readonly<{ reason: EncodeErrorReason; field?: string }>;

  constructor(message: string, data: { reason: EncodeErrorReason; field?: string }) {
    super('EINVAL', message, data);
  }

  get reason(): EncodeErrorReason {
    return this.data.reason;
  }
}
