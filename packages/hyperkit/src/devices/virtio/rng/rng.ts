/**
 * virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue; the
 * driver offers device-writable buffers and the device fills them with
 * random bytes (node:crypto's CSPRNG). No configuration, no features.
 */
import { randomFillSync } from 'node:crypto';
import type { VirtioDevice, VirtioPciTransport } from '../pci.js';

export class VirtioRng implements VirtioDevice {
  readonly deviceId = 4;
  readonly features = 0;
  readonly queueSizes = [64];
  readonly config = new Uint8Array(0);
  /** Bytes handed to the guest so far. */
  bytesServed = 0;

  notify(index: number, t: VirtioPciTransport): void {
    const q = t.queue(index);
    if (q === undefined) return;
    for (let chain = q.pop(); chain !== undefined; chain = q.pop()) {
      let n = 0;
      // At most 64 KiB per request: a guest asking for more gets a partial answer (allowed).
      for (const w of chain.writable) {
        if (n >= 65536) break;
        const part = w.subarray(0, Math.min(w.length, 65536 - n));
        randomFillSync(part);
        n += part.length;
      }
      this.bytesServed += n;
      q.pushUsed(chain.head, n);
    }
    t.interrupt(index);
  }
}
