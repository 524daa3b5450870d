/**
 * Qids from node keys.
 *
 * intro(5): "The qid ... path[8] ... is unique among all files in the hierarchy.
 *   If a file is deleted and recreated with the same name in the same directory,
 *   the old and new path components of the qid should be different." (Not kept for
 *   branches: a branch recreated under its old name gets its old path.)
 *
 * Nodes here are made on demand, so qid.path is a 64-bit hash of the node's key
 * (two FNV-1a 32-bit hashes with different offsets).
 */
import { QTDIR, QTFILE, QTSYMLINK } from '@kitbox/p9p';
import type { Qid } from '@kitbox/p9p';
import type { Kind } from './node.js';

function fnv1a(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function qidPath(key: string): bigint {
  return (BigInt(fnv1a(key, 0x811c9dc5)) << 32n) | BigInt(fnv1a(key, 0x01234567));
}

export function qidOf(kind: Kind, key: string, version = 0): Qid {
  return { type: kind === 'dir' ? QTDIR : kind === 'symlink' ? QTSYMLINK : QTFILE, version: version >>> 0, path: qidPath(key) };
}
