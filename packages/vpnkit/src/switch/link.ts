/**
 * The `Link` interface: one Ethernet port of the switch.
 *
 * A link is an async source of frames (`frames()`), a non-blocking
 * `send(frame)` with backpressure, `close()` and counters.  Every queue is
 * bounded: a frame that does not fit is dropped and counted, never
 * buffered without limit (a guest, or a slow peer, must not be able to
 * grow our memory).  IEEE 802.3 Clause 3: frames carry no FCS here.
 */

export interface LinkStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Received frames dropped: inbound queue full, oversized, or malformed framing. */
  rxDropped: number;
  /** Frames `send` refused: outbound queue full, oversized, or link closed. */
  txDropped: number;
}

export interface Link {
  /** For logs and stats. */
  readonly name: string;
  /** Largest frame (Ethernet header + payload) this link carries. */
  readonly maxFrameSize: number;
  /** Frames from the peer, until the link closes.  Iterate it once. */
  frames(): AsyncIterableIterator<Uint8Array>;
  /**
   * Optional, instead of `frames()`: hand every frame from the peer to
   * `sink` synchronously, as it is read (queued frames first), without a
   * promise and a microtask per frame.  Resolves when the link closes.
   * `sink` must not throw; if it does, the frame is counted as dropped.
   */
  deliverTo?(sink: (frame: Uint8Array) => void): Promise<void>;
  /**
   * Queue a frame for the peer.  Returns false when it was dropped (queue
   * full, too large, or closed).  The frame may be retained: do not reuse it.
   */
  send(frame: Uint8Array): boolean;
  close(): Promise<void>;
  readonly closed: boolean;
  stats(): LinkStats;
  /**
   * The link passes TCP super-segments (frames with a `gsoSize`) to its
   * peer whole; without it the switch segments them first (see gso.ts).
   */
  readonly gso?: boolean;
  /**
   * `send` takes frames whose payload is carried separately (`framePayload`
   * in gso.ts) and is done with it when it returns; without it the switch
   * copies such frames whole first.
   */
  readonly scatterGather?: boolean;
}

export function emptyLinkStats(): LinkStats {
  return { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, rxDropped: 0, txDropped: 0 };
}
