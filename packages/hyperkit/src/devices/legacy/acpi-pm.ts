/**
 * ACPI fixed-hardware power management registers (ACPI 6.5 §4.8.3), the part the FADT in
 * arch/x86_64/acpi.ts declares:
 *
 *   PM1 event block, 4 bytes: PM1_STS (+0, write 1 to clear) and PM1_EN (+2)
 *   PM1 control block, 2 bytes: PM1_CNT: SCI_EN (bit 0, reads 1: always in ACPI mode),
 *     SLP_TYP (bits 10-12), SLP_EN (bit 13, write-only)
 *
 * No fixed event is ever raised, so PM1_STS reads 0. Writing SLP_EN with the S5 type ends
 * the VM as powered off; other sleep states are not offered (the DSDT declares only `\_S5`)
 * and are ignored if written.
 */
import type { BusDevice } from '../bus.js';

const SCI_EN = 1 << 0;
const SLP_TYP_SHIFT = 10;
const SLP_TYP_MASK = 0x7 << SLP_TYP_SHIFT;
const SLP_EN = 1 << 13;

/** Little-endian value of `data` (1, 2 or 4 bytes) placed at byte `offset` of a register file. */
function readLe(regs: Uint8Array, offset: number, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) data[i] = offset + i < regs.length ? (regs[offset + i] ?? 0) : 0xff;
}

export class AcpiPmEvent implements BusDevice {
  /** PM1_STS then PM1_EN, little-endian. */
  readonly #regs = new Uint8Array(4);

  read(offset: number, data: Uint8Array): void {
    readLe(this.#regs, offset, data);
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const at = offset + i;
      if (at < 2) this.#regs[at] = (this.#regs[at] ?? 0) & ~(data[i] ?? 0); // write 1 to clear
      else if (at < 4) this.#regs[at] = data[i] ?? 0;
    }
  }
}

export class AcpiPmControl implements BusDevice {
  readonly #regs = new Uint8Array(2);
  readonly #s5: number;
  readonly #onPowerOff: () => void;
  readonly #onSleep: ((type: number) => void) | undefined;

  constructor({ s5SleepType, onPowerOff, onSleep }: { s5SleepType: number; onPowerOff: () => void; onSleep?: (type: number) => void }) {
    this.#s5 = s5SleepType;
    this.#onPowerOff = onPowerOff;
    this.#onSleep = onSleep;
    this.#regs[0] = SCI_EN;
  }

  read(offset: number, data: Uint8Array): void {
    readLe(this.#regs, offset, data);
  }

  write(offset: number, data: Uint8Array): void {
    const value = new Uint8Array(this.#regs);
    for (let i = 0; i < data.length && offset + i < 2; i++) value[offset + i] = data[i] ?? 0;
    const v = (value[0] ?? 0) | ((value[1] ?? 0) << 8);
    // SLP_EN is write-only (reads 0); SCI_EN stays set.
    const kept = (v & ~SLP_EN) | SCI_EN;
    this.#regs[0] = kept & 0xff;
    this.#regs[1] = kept >> 8;
    if (v & SLP_EN) {
      const type = (v & SLP_TYP_MASK) >> SLP_TYP_SHIFT;
      if (type === this.#s5) this.#onPowerOff();
      else this.#onSleep?.(type);
    }
  }
}
