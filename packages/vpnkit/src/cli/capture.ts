/**
 * `--pcap FILE`: the switch's frames written to a file without ever holding
 * up the switch or growing without bound.  The switch cannot wait for a
 * disk, so while more than `maxQueued` bytes wait to be written, frames are
 * not recorded (each record is whole or absent: the file stays valid) and
 * counted; a write error (disk full) stops the capture, is reported once,
 * and leaves the records written so far.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { PcapWriter } from '../testing/pcap.js';

export interface CaptureStats {
  /** Frames recorded (handed to the file). */
  readonly frames: number;
  /** Frames not recorded: the file was behind by `maxQueued` bytes, or had failed. */
  readonly dropped: number;
  /** The write error that stopped the capture, if any. */
  readonly error: Error | undefined;
}

/** Bytes queued for the file past which frames are dropped. Default 32 MiB. */
export const DEFAULT_MAX_QUEUED = 32 * 1024 * 1024;

export class CaptureFile {
  private readonly writer: PcapWriter;
  private frames = 0;
  private dropped = 0;
  private error: Error | undefined;

  constructor(
    private readonly out: Writable,
    private readonly maxQueued = DEFAULT_MAX_QUEUED,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    out.on('error', (err) => {
      if (this.error !== undefined) return;
      this.error = err;
      this.onError(err);
    });
    this.writer = new PcapWriter((chunk) => void out.write(chunk));
  }

  /** Opens `path` (created or truncated, mode 0600) once the file is open. */
  static async open(path: string, maxQueued?: number, onError?: (err: Error) => void): Promise<CaptureFile> {
    const out = createWriteStream(path, { mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      out.once('open', () => {
        out.off('error', reject);
        resolve();
      });
      out.once('error', reject);
    });
    return new CaptureFile(out, maxQueued, onError);
  }

  /** Record `frame` (a capture callback for `Switch.capture`). */
  record(frame: Uint8Array, timeMs = Date.now()): void {
    if (this.error !== undefined || this.out.destroyed || this.out.writableLength > this.maxQueued) {
      this.dropped++;
      return;
    }
    this.frames++;
    this.writer.write(frame, timeMs);
  }

  stats(): CaptureStats {
    return { frames: this.frames, dropped: this.dropped, error: this.error };
  }

  /** Flush what is queued and close the file. */
  close(): Promise<CaptureStats> {
    return new Promise((resolve) => {
      if (this.out.destroyed) {
        resolve(this.stats());
        return;
      }
      this.out.end(() => resolve(this.stats()));
    });
  }
}
