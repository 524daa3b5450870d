/**
 * virtio-console, a single port without multiport (virtio 1.2 §5.3):
 * queue 0 receiveq (host -> guest: the driver offers writable buffers),
 * queue 1 transmitq (guest -> host: readable buffers).  config: le16 cols,
 * le16 rows, le32 max_nr_ports, le32 emerg_wr (no features offered, so the
 * driver reads none of them).  The guest sees it as /dev/hvc0.
 *
 * Output goes to `output` as it arrives; input is buffered (bounded, oldest
 * bytes dropped beyond `maxInput`) until the guest offers receive buffers.
 */
import type { VirtioDevice, VirtioPciTransport } from '../pci.js';

const RX = 0;
const TX = 1;

export class VirtioConsole implements VirtioDevice {
  readonly deviceId = 3;
  readonly features = 0;
  readonly queueSizes = [64, 64];
  readonly config = new Uint8Array(12);
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private transport: VirtioPciTransport | undefined;
  droppedInput = 0;

  constructor(
    private readonly output: (data: Uint8Array) => void,
    private readonly maxInput = 64 * 1024,
  ) {}

  notify(index: number, t: VirtioPciTransport): void {
    this.transport = t;
    if (index === TX) {
      const q = t.queue(TX);
      if (q === undefined) return;
      for (let chain = q.pop(); chain !== undefined; chain = q.pop()) {
        for (const b of chain.readable) if (b.length > 0) this.output(b.slice());
        q.pushUsed(chain.head, 0);
      }
      t.interrupt(TX);
    } else if (index === RX) this.deliver();
  }

  /** Bytes for the guest's /dev/hvc0 (delivered once it offers buffers). */
  input(data: Uint8Array): void {
    this.pending.push(data.slice());
    this.pendingBytes += data.length;
    while (this.pendingBytes > this.maxInput) {
      const old = this.pending.shift();
      if (old === undefined) break;
      this.pendingBytes -= old.length;
      this.droppedInput += old.length;
    }
    this.deliver();
  }

  private deliver(): void {
    const t = this.transport;
    const q = t?.queue(RX);
    if (t === undefined || q === undefined) return;
    let any = false;
    while (this.pending.length > 0) {
      const chain = q.pop();
      if (chain === undefined) break;
      let n = 0;
      for (const w of chain.writable) {
        let off = 0;
        while (off < w.length && this.pending.length > 0) {
          const head = this.pending[0] as Uint8Array;
          const k = Math.min(head.length, w.length - off);
          w.set(head.subarray(0, k), off);
          off += k;
          n += k;
          this.pendingBytes -= k;
          if (k === head.length) this.pending.shift();
          else this.pending[0] = head.subarray(k);
        }
      }
      q.pushUsed(chain.head, n);
      any = true;
    }
    if (any) t.interrupt(RX);
  }

  reset(): void {
    this.transport = undefined;
  }
}
