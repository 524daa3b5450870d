/**
 * A pcap (libpcap "classic" format) writer for captured frames.
 *
 *   Global header:  magic_number[4] = 0xa1b2c3d4 (microsecond timestamps)
 *                   version_major[2] = 2  version_minor[2] = 4
 *                   thiszone[4] = 0  sigfigs[4] = 0  snaplen[4]
 *                   network[4] = 1 (LINKTYPE_ETHERNET)
 *   Record header:  ts_sec[4] ts_usec[4] incl_len[4] orig_len[4]
 *   (draft-ietf-opsawg-pcap §4, §5; written little-endian, which the magic
 *    number lets readers detect.)
 *
 * `PcapWriter` encodes to byte chunks and hands them to a sink (a file
 * stream, an array in tests).  Frames longer than `snaplen` are truncated,
 * with `orig_len` recording the real length.
 */

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;

export type PcapSink = (chunk: Uint8Array) => void;

export class PcapWriter {
  constructor(
    private readonly sink: PcapSink,
    readonly snaplen = 65535,
  ) {
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, PCAP_MAGIC, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    sink(h);
  }

  /** Record `frame` captured at `timeMs` (Unix epoch milliseconds). */
  write(frame: Uint8Array, timeMs: number): void {
    const incl = Math.min(frame.length, this.snaplen);
    const rec = new Uint8Array(16 + incl);
    const v = new DataView(rec.buffer);
    const sec = Math.floor(timeMs / 1000);
    v.setUint32(0, sec >>> 0, true);
    v.setUint32(4, Math.floor((timeMs - sec * 1000) * 1000) >>> 0, true);
    v.setUint32(8, incl, true);
    v.setUint32(12, frame.length, true);
    rec.set(frame.subarray(0, incl), 16);
    this.sink(rec);
  }
}
