/*
 * @kitbox/p9p: 9P2000, 9P2000.u and 9P2000.L.
 *
 * The codec: every message of the three dialects as a typed value, encoded
 * to and decoded from whole frames (size[4] type[1] tag[2] ...); the channel
 * (framing over a Duplex, version negotiation); the client Session; the
 * server with its Handler interface, the in-memory MemoryFs and LocalFs
 * (a host directory, confined to it); TCP and
 * Unix transports addressed by Plan 9 dial strings.
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

// The channel: framing over a Duplex, version negotiation, errors.
export { Channel } from './channel/channel.js';
export type { ChannelOptions } from './channel/channel.js';
export { FrameReader } from './channel/framer.js';
export { duplexPair } from './channel/pair.js';
export { serverVersion, clientAccepts, DIALECTS, MIN_MSIZE, MAX_MSIZE } from './channel/version.js';
export { ChannelError, RemoteError, AbortError } from './channel/errors.js';
export type { ChannelErrorReason } from './channel/errors.js';
export { ERRNO, errnoName, errnoNumber, errnoText } from './channel/errno.js';
export type { ErrnoName } from './channel/errno.js';

// The client.
export { Session } from './client/session.js';
export type { ConnectOptions, PathOptions } from './client/session.js';
export { Fid } from './client/fid.js';
export { File } from './client/file.js';
export type { ReadOptions } from './client/file.js';
export type { Request, ReplyTo } from './client/mux.js';
export type { Attr, Statfs, SetAttr, TimeSpec } from './client/attr.js';
export { createReadStream, createWriteStream } from './client/streams.js';

// The server and handlers.
export { serve } from './server/serve.js';
export type { ServeOptions, ServerConnection } from './server/serve.js';
export type { Handler, RequestContext, AttrReply, StatfsReply, SetattrRequest, Awaitable } from './server/handler.js';
export { MemoryFs } from './handlers/memory.js';
export type { MemoryFid, MemoryFsOptions } from './handlers/memory.js';
export { LocalFs } from './handlers/local.js';
export type { LocalFid, LocalFsOptions } from './handlers/local.js';

// Transports.
export { dial, listen } from './transport/dial.js';
export { parseDialString, formatDialString, DEFAULT_PORT } from './transport/dialstring.js';
export type { Address } from './transport/dialstring.js';
