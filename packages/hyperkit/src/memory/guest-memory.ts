/**
 * Guest physical memory: regions mapped once with mmap and seen as zero-copy views.
 * Every access is checked against the regions: addresses come from a hostile guest.
 */
import { HyperkitError } from '../errors.js';

export interface GuestRegion {
  /** Guest physical address of the first byte. */
  readonly gpa: number;
  /** Host virtual address of the first byte. */
  readonly hostAddress: bigint;
  /** The region's bytes: a view over the mapping, no copy. */
  readonly bytes: Uint8Array;
}

export class GuestMemory {
  readonly #regions: GuestRegion[];

  constructor(regions: GuestRegion[]) {
    const sorted = [...regions].sort((a, b) => a.gpa - b.gpa);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as GuestRegion;
      if ((sorted[i] as GuestRegion).gpa < prev.gpa + prev.bytes.length) {
        throw new HyperkitError('MEMORY_OVERLAP', 'guest memory regions overlap');
      }
    }
    this.#regions = sorted;
  }

  get regions(): readonly GuestRegion[] {
    return this.#regions;
  }

  /** Total bytes of guest RAM. */
  get size(): number {
    return this.#regions.reduce((n, r) => n + r.bytes.length, 0);
  }

  /**
   * A zero-copy view of `[gpa, gpa + len)`, or `undefined` if any byte of it is outside
   * guest RAM or the range crosses a region boundary.
   */
  view(gpa: number, len: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(len) || gpa < 0 || len < 0) return undefined;
    for (const r of this.#regions) {
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.bytes.length) {
        // In bounds: the whole range lies inside this region (checked just above).
        return r.bytes.subarray(gpa - r.gpa, gpa - r.gpa + len);
      }
    }
    return undefined;
  }

  /** Like `view`, but a range outside guest RAM is an error naming it. */
  slice(gpa: number, len: number): Uint8Array {
    const v = this.view(gpa, len);
    if (!v) throw new HyperkitError('GUEST_ADDRESS', `guest range 0x${gpa.toString(16)}+${len} is outside guest memory`, { gpa, len });
    return v;
  }

  write(gpa: number, data: Uint8Array): void {
    this.slice(gpa, data.length).set(data);
  }
}
