/*
 * The client's fid numbers.
 *
 * intro(5): "The fid ... is chosen by the client. ... All requests on a
 *   connection share the same fid space".
 * clunk(5): "The clunk request informs the file server that the current file
 *   represented by fid is no longer needed by the client. ... The fid is
 *   released, even if the clunk ... fails" ("even if an error is returned").
 *
 * Numbers are lent from a bounded range and never NOFID; a caller over the
 * bound gets EMFILE rather than an unbounded table.
 */
import { NOFID } from '../codec/constants.js';
import { P9Error } from '../codec/errors.js';

export class FidPool {
  private next = 0;
  private readonly free: number[] = [];
  private readonly used = new Set<number>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit >= NOFID) {
      throw new P9Error('EINVAL', `fid limit ${limit} must be 1..${NOFID - 1}`);
    }
  }

  get inUse(): number {
    return this.used.size;
  }

  /** A fid number not in use. Throws P9Error('EMFILE') past the bound. */
  acquire(): number {
    if (this.used.size >= this.limit) throw new P9Error('EMFILE', `all ${this.limit} fids are in use`);
    const fid = this.free.pop() ?? this.next++;
    this.used.add(fid);
    return fid;
  }

  release(fid: number): void {
    if (this.used.delete(fid)) this.free.push(fid);
  }

  has(fid: number): boolean {
    return this.used.has(fid);
  }
}
