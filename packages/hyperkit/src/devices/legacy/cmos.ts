/**
 * The CMOS real-time clock (Motorola MC146818, as in every PC) at ports 0x70 (index) and
 * 0x71 (data). It tells the guest the wall-clock time at boot; an absent RTC reads 0xFF,
 * whose "update in progress" bit makes Linux's rtc_cmos driver spin for half a minute.
 *
 *   reg  0 seconds, 2 minutes, 4 hours, 6 day of week, 7 day, 8 month, 9 year (BCD)
 *   reg 0x0A  A: bit 7 UIP (update in progress); 0x26 = 32.768 kHz base, 1024 Hz
 *   reg 0x0B  B: bit 1 24-hour, bit 2 binary (clear: BCD)
 *   reg 0x0C  C: interrupt flags (none)
 *   reg 0x0D  D: bit 7 VRT (the battery is good)
 *   reg 0x32  century (BCD)
 * Writes to the clock are accepted and ignored: the guest cannot move the host's clock.
 * Other registers are 114 bytes of plain NVRAM.
 */
import type { BusDevice } from '../bus.js';

const bcd = (n: number): number => ((Math.floor(n / 10) % 10) << 4) | n % 10;

export class Cmos implements BusDevice {
  #index = 0;
  readonly #nvram = new Uint8Array(128);
  readonly #now: () => Date;

  /** `now` is injectable so tests can fix the time. */
  constructor({ now = () => new Date() }: { now?: () => Date } = {}) {
    this.#now = now;
  }

  /** Mapped at 0x70 with length 2. */
  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    data[0] = offset === 0 ? this.#index : this.#register(this.#index);
  }

  write(offset: number, data: Uint8Array): void {
    const v = data[0] ?? 0;
    if (offset === 0) this.#index = v & 0x7f; // bit 7 is the NMI mask: ignored
    else if (this.#index >= 0x0e && this.#index !== 0x32) this.#nvram[this.#index] = v;
  }

  #register(i: number): number {
    const t = this.#now();
    switch (i) {
      case 0x00: return bcd(t.getUTCSeconds());
      case 0x02: return bcd(t.getUTCMinutes());
      case 0x04: return bcd(t.getUTCHours());
      case 0x06: return bcd(t.getUTCDay() + 1);
      case 0x07: return bcd(t.getUTCDate());
      case 0x08: return bcd(t.getUTCMonth() + 1);
      case 0x09: return bcd(t.getUTCFullYear() % 100);
      case 0x32: return bcd(Math.floor(t.getUTCFullYear() / 100));
      case 0x0a: return 0x26;
      case 0x0b: return 0x02;
      case 0x0c: return 0x00;
      case 0x0d: return 0x80;
      case 0x01: case 0x03: case 0x05: return 0; // alarms
      default: return this.#nvram[i] ?? 0;
    }
  }
}
