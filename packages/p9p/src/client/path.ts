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
