/*
 * @kitbox/p9p: 9P2000, 9P2000.u and 9P2000.L.
 *
 * The codec: every message of the three dialects as a typed value, encoded
 * to and decoded from whole frames (size[4] type[1] tag[2] ...).
 */
export type * from './codec/types.js';
export { MessageType } from './codec/types.js';
export * from './codec/constants.js';

export { P9Error, ProtocolError, EncodeError } from './codec/errors.js';
export type { ProtocolErrorReason, ProtocolErrorData, EncodeErrorReason } from './codec/errors.js';

export { encode, encodeInto, encodedLength } from './codec/encode.js';
export { decode } from './codec/decode.js';
export type { DecodeOptions } from './codec/decode.js';

export {
  statLength,
  encodeStat,
  encodeStatInto,
  decodeStat,
  decodeStats,
  splitStats,
  dontTouchStat,
} from './codec/stat.js';
export { direntLength, encodeDirentInto, encodeDirents, decodeDirents } from './codec/dirent.js';
