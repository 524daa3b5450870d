/*
 * Paths to walk names.
 *
 * walk(5): "nwname path name elements wname ... The name ``..'' ... 
 *   represents the parent directory." "nwname ... MAXWELEM (16)".
 *
 * Client paths are '/'-separated and relative to the attach root; empty
 * elements and "." are dropped. Names are left as they are otherwise: the
 * server decides what ".." means.
 */
import { MAXWELEM } from '../codec/constants.js';
import { P9Error } from '../codec/errors.js';
import { ERRNO } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';

/** 'a//b/./c' -> ['a', 'b', 'c']. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

/** The parent's names and the last name. Throws EINVAL for the root. */
export function splitParent(path: string): { dir: string[]; name: string } {
  const names = splitPath(path);
  const name = names.pop();
  if (name === undefined || name === '..') throw new P9Error('EINVAL', `${JSON.stringify(path)} names no entry in a directory`);
  return { dir: names, name };
}

/** Names in runs of at most MAXWELEM, one Twalk each. */
export function walkChunks(names: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < names.length; i += MAXWELEM) out.push(names.slice(i, i + MAXWELEM));
  return out;
}

/**
 * What is wrong with the Rwalk to chunk `i` of `names` (`asked` names, `nwqid`
 * qids back): ENOENT naming the first name not walked, EPROTO for more qids
 * than names; undefined when every name was walked.
 */
export function walkShort(names: readonly string[], i: number, asked: number, nwqid: number): Error | undefined {
  if (nwqid > asked) return new P9Error('EPROTO', 'Rwalk has more qids than names');
  if (nwqid === asked) return undefined;
  const at = i * MAXWELEM + nwqid;
  return new RemoteError(ERRNO.ENOENT, `ENOENT: cannot walk to ${JSON.stringify(names[at])} (${names.slice(0, at + 1).join('/')})`);
}
