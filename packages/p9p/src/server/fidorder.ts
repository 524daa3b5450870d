/*
 * Requests that name the same fid run in the order they arrived.
 *
 * intro(5): "The fid ... is chosen by the client. ... All requests on a
 *   connection share the same fid space".
 * walk(5): "size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])"
 *   "newfid ... must not be in use unless it is the same as fid."
 * clunk(5): "The clunk request informs the file server that the current file
 *   represented by fid is no longer needed by the client."
 *
 * 9P does not order requests: a client waits for Rwalk before naming its
 * newfid. This server does order them per fid, so that a client may send
 * walk, open, write, clunk at once (pipelining; the p9p client's `pipeline`
 * option). A request that changes what a fid is (creates, opens, replaces or
 * releases it: Tattach, Twalk's newfid, Tlopen, Tclunk, ...) waits for the
 * earlier requests naming that fid that change it or that were themselves
 * ordered (see mustFollow), and every later request naming it waits for it. Requests that only use a fid (Tread, Twrite, Tgetattr, ...) still
 * run concurrently with each other, as they do for a client that never
 * pipelines (several reads of one open file, say). Pure logic: the caller
 * compares a request with those still running (at most maxInflight) and
 * does the waiting; with one request in flight there is nothing to compare.
 */
import type { Fcall } from '../codec/types.js';

/** A fid a request names, and whether it changes what the fid is. */
export interface FidClaim {
  fid: number;
  change: boolean;
}

const use = (fid: number): FidClaim[] => [{ fid, change: false }];
const change = (fid: number): FidClaim[] => [{ fid, change: true }];

/** The fids `m` names (none for Tversion, Tflush, Tauth: no fid of ours). */
export function claimsOf(m: Fcall): FidClaim[] {
  switch (m.type) {
    case 'Twalk':
    case 'Txattrwalk':
      return m.newfid === m.fid ? change(m.fid) : [{ fid: m.fid, change: false }, { fid: m.newfid, change: true }];
    case 'Tattach':
    case 'Tclunk':
    case 'Tremove':
    case 'Tlopen':
    case 'Tlcreate':
    case 'Topen':
    case 'Tcreate':
    case 'Txattrcreate':
    case 'Twstat':
      return change(m.fid);
    case 'Tread':
    case 'Twrite':
    case 'Tstat':
    case 'Tstatfs':
    case 'Tsymlink':
    case 'Treadlink':
    case 'Tgetattr':
    case 'Tsetattr':
    case 'Treaddir':
    case 'Tfsync':
    case 'Tlock':
    case 'Tgetlock':
      return use(m.fid);
    case 'Tmkdir':
    case 'Tmknod':
      return use(m.dfid);
    case 'Tunlinkat':
      return use(m.dirfd);
    case 'Tlink':
    case 'Trename':
      return m.dfid === m.fid ? use(m.fid) : [{ fid: m.dfid, change: false }, { fid: m.fid, change: false }];
    case 'Trenameat':
      return m.olddirfid === m.newdirfid ? use(m.olddirfid) : [{ fid: m.olddirfid, change: false }, { fid: m.newdirfid, change: false }];
    default:
      return [];
  }
}

/**
 * Whether a request claiming `later` must wait for an earlier one, still
 * running, that claims `earlier`: they name a fid in common and the earlier
 * one changes it, or the later one changes it and the earlier one was itself
 * ordered (`earlierOrdered`: it arrived behind a change on its fid, i.e. it is
 * part of a pipelined sequence). A request that only uses a fid and started at
 * once, as every request of a client that does not pipeline does, holds no
 * later change back: a Tclunk sent while a read is blocked in the handler
 * (a long-poll file, say) goes ahead as it always did instead of waiting for
 * the read to end.
 */
export function mustFollow(later: readonly FidClaim[], earlier: readonly FidClaim[], earlierOrdered = true): boolean {
  for (const a of later) for (const b of earlier) if (a.fid === b.fid && (b.change || (a.change && earlierOrdered))) return true;
  return false;
}
