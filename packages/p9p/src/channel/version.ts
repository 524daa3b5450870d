/*
 * Version negotiation.
 *
 * version(5): "size[4] Tversion tag[2] msize[4] version[s]
 *              size[4] Rversion tag[2] msize[4] version[s]"
 *   "The tag should be NOTAG ... The server responds with its own maximum,
 *   msize, which must be less than or equal to the client's value."
 *   "If the client's string contains one or more period characters, the
 *   initial substring up to but not including any single period in the
 *   version string defines a version of the protocol."
 *   "If the server does not understand the client's version string, it
 *   should respond with an Rversion message (not Rerror) with the version
 *   string the 7 characters unknown."
 */
import type { Dialect } from '../codec/types.js';
import { ChannelError } from './errors.js';

/** Dialects from best to least: "9P2000.L" > "9P2000.u" > "9P2000". */
export const DIALECTS: readonly Dialect[] = ['9P2000.L', '9P2000.u', '9P2000'];

/** The smallest msize either side agrees to: room for a header and a useful payload. */
export const MIN_MSIZE = 256;
/** The largest msize either side proposes or accepts by default (16 MiB). */
export const MAX_MSIZE = 16 * 1024 * 1024;

export function isDialect(s: string): s is Dialect {
  return (DIALECTS as readonly string[]).includes(s);
}

/**
 * The server's answer to a Tversion: min(msize, its max) and the best
 * dialect it supports of what was asked (the asked one, or the base
 * "9P2000" it names), else 'unknown'.
 *
 * @example
 *   serverVersion({ msize: 1 << 20, version: '9P2000.L', maxMsize: 65536 });
 *   // { msize: 65536, version: '9P2000.L' }
 */
export function serverVersion(opts: {
  msize: number;
  version: string;
  maxMsize: number;
  dialects?: readonly Dialect[];
}): { msize: number; version: Dialect | 'unknown' } {
  const supported = opts.dialects ?? DIALECTS;
  const msize = Math.min(opts.msize, opts.maxMsize);
  if (msize < MIN_MSIZE) return { msize: opts.maxMsize, version: 'unknown' };
  const asked = opts.version;
  if (isDialect(asked) && supported.includes(asked)) return { msize, version: asked };
  // "9P2000.x" names 9P2000 plus extension x: fall back to the base protocol.
  const base = asked.split('.')[0];
  if (base === '9P2000' && supported.includes('9P2000')) return { msize, version: '9P2000' };
  return { msize, version: 'unknown' };
}

/**
 * The client's check of an Rversion: msize must be <= what it asked (and at
 * least MIN_MSIZE), the version the one it asked or a lesser dialect in
 * `accept` (default: every dialect ranked below the asked one).
 * Throws ChannelError('version').
 *
 * @example
 *   clientAccepts({ asked: { msize: 8192, version: '9P2000.L' }, reply: { msize: 4096, version: '9P2000.L' } });
 *   // { msize: 4096, dialect: '9P2000.L' }
 */
export function clientAccepts(opts: {
  asked: { msize: number; version: Dialect };
  reply: { msize: number; version: string };
  accept?: readonly Dialect[];
}): { msize: number; dialect: Dialect } {
  const { asked, reply } = opts;
  if (reply.msize > asked.msize) {
    throw new ChannelError('version', `server msize ${reply.msize} exceeds the ${asked.msize} asked for`);
  }
  if (reply.msize < MIN_MSIZE) {
    throw new ChannelError('version', `server msize ${reply.msize} is below the minimum ${MIN_MSIZE}`);
  }
  const accept = opts.accept ?? DIALECTS.slice(DIALECTS.indexOf(asked.version));
  if (reply.version === asked.version || (isDialect(reply.version) && accept.includes(reply.version))) {
    return { msize: reply.msize, dialect: reply.version as Dialect };
  }
  throw new ChannelError('version', `server answered version ${JSON.stringify(reply.version)} to ${asked.version}`);
}
