/*
 * Pipelined sequences: a walk and what follows it on the new fid, sent at
 * once (the Session's `pipeline` option).
 *
 * walk(5): "size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])"
 *   "If the first element cannot be walked for any reason, Rerror is
 *   returned. Otherwise, the walk will return an Rwalk message containing
 *   nwqid qids ... if nwqid is less than nwname ... newfid ... is not
 *   affected."
 * clunk(5): "Even if the clunk returns an error, the fid is no longer valid."
 * remove(5): "... clunk the fid, even if the remove fails."
 *
 * 9P itself does not order requests, so this is only for a server that runs
 * the requests naming one fid in the order they arrived (p9p's serve() does:
 * src/server/fidorder.ts). The client picks the new fid, so it can name it
 * before Rwalk: Twalk, the steps and a closing Tclunk (or a step that
 * releases the fid itself, Tremove) go out together and the replies are
 * awaited together. If the walk fails, the server never made the fid and the
 * later requests fail with EBADF; the error reported is the first failing
 * reply's, in the order sent. The closing request is sent without the
 * caller's signal, so that it reaches the server whatever was aborted, and
 * the fid number is lent again only once its reply is in: nothing is left
 * behind on either side.
 */
import type { Fcall } from '../codec/types.js';
import type { FidPool } from './fids.js';
import type { Request } from './mux.js';
import { walkChunks, walkShort } from './path.js';

export interface PipelineHost {
  rpc(msg: Request, opts: { signal?: AbortSignal }): Promise<Fcall>;
  readonly fids: FidPool;
  /** The fid walked from (the attach root). */
  readonly from: number;
}

/**
 * Walks `names` from `host.from` to a new fid and sends `steps(fid)` on it,
 * then a Tclunk unless the last step releases the fid (Tremove), all
 * without waiting. Resolves with the steps' replies; rejects with the first
 * failure (a walk that stops short: ENOENT, as Session.walk).
 */
export async function walkThen(host: PipelineHost, names: readonly string[], steps: (fid: number) => Request[], signal?: AbortSignal): Promise<Fcall[]> {
  const fid = host.fids.acquire();
  const chunks = names.length === 0 ? [[]] : walkChunks(names);
  const sent = chunks.map((wnames, i) => host.rpc({ type: 'Twalk', fid: i === 0 ? host.from : fid, newfid: fid, wnames }, { signal }));
  const tail = steps(fid);
  const last = tail[tail.length - 1];
  const releases = last?.type === 'Tremove';
  // The request that ends the fid goes without the signal: it must reach the server.
  for (const m of tail) sent.push(host.rpc(m, { signal: m === last && releases ? undefined : signal }));
  // Its failure is of no interest (the fid is gone either way), and its reply may come before
  // the others': caught at once, or it would be an unhandled rejection meanwhile.
  const closing = releases ? undefined : host.rpc({ type: 'Tclunk', fid }, {}).catch(() => {});
  const got = await Promise.allSettled(sent);
  await closing;
  host.fids.release(fid);
  for (const [i, wnames] of chunks.entries()) {
    const r = got[i]!;
    if (r.status === 'rejected') throw r.reason;
    const short = walkShort(names, i, wnames.length, (r.value as Extract<Fcall, { type: 'Rwalk' }>).wqids.length);
    if (short !== undefined) throw short;
  }
  const out: Fcall[] = [];
  for (const r of got.slice(chunks.length)) {
    if (r.status === 'rejected') throw r.reason;
    out.push(r.value);
  }
  return out;
}