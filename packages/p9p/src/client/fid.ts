/*
 * A fid held by the client.
 *
 * clunk(5): "size[4] Tclunk tag[2] fid[4]  size[4] Rclunk tag[2]"
 *   "The actual file is not removed on the server unless the fid had been
 *   opened with ORCLOSE." "Even if the clunk returns an error, the fid is no
 *   longer valid."
 * remove(5): "size[4] Tremove tag[2] fid[4]  size[4] Rremove tag[2]"
 *   "The remove request asks the file server both to remove the file
 *   represented by fid and to clunk the fid, even if the remove fails."
 */
import type { Qid } from '../codec/types.js';
import type { Session } from './session.js';

export class Fid {
  private released = false;

  constructor(
    readonly session: Session,
    readonly fid: number,
    /** The qid walked to (undefined for a clone of a fid whose qid is unknown). */
    readonly qid: Qid | undefined,
  ) {}

  get isReleased(): boolean {
    return this.released;
  }

  /** Tclunk; the number is released whatever the answer. Idempotent. */
  async clunk(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.session.rpc({ type: 'Tclunk', fid: this.fid });
    } finally {
      this.session.releaseFid(this.fid);
    }
  }

  /** Tremove: removes the file and clunks the fid, even if the remove fails. */
  async remove(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.session.rpc({ type: 'Tremove', fid: this.fid });
    } finally {
      this.session.releaseFid(this.fid);
    }
  }

  /** Forget the fid without a message (the server never created it). */
  forget(): void {
    if (this.released) return;
    this.released = true;
    this.session.releaseFid(this.fid);
  }
}
