/**
 * A minimal i8042 keyboard controller: enough for Linux's driver to find a controller with
 * no devices behind it quickly, and the reset line.
 *
 *   port 0x64 read:  status (bit 0 OBF: output buffer full; bit 2 SYS: self-test passed)
 *   port 0x64 write: command; 0x20 read CTR, 0x60 write CTR (next data byte), 0xAA self
 *                    test (answers 0x55), 0xA7/0xA8 disable/enable aux, 0xAD/0xAE
 *                    disable/enable keyboard, 0xA9/0xAB interface tests (answer 0x00 = ok),
 *                    0xD4 write to aux (the mouse is absent: no answer), 0xFE pulse reset
 *   port 0x60 read:  the output buffer (clears OBF); write: data for the pending command
 *
 * Linux resets the machine through command 0xFE with `reboot=k`; that ends the VM.
 */
import type { BusDevice } from '../bus.js';

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;

const SB_OUT_FULL = 0x01;
const SB_SYS = 0x04;
const SB_CMD_DATA = 0x08;
const CMD_READ_CTR = 0x20;
const CMD_WRITE_CTR = 0x60;
const CMD_SELF_TEST = 0xaa;
const CMD_RESET_CPU = 0xfe;

export class I8042 implements BusDevice {
  readonly #onReset: () => void;
  #status = SB_SYS;
  #ctr = 0x47; // keyboard interrupt, system flag, translation (as firmware leaves it)
  #out = 0;
  #pending = 0;

  constructor({ onReset }: { onReset: () => void }) {
    this.#onReset = onReset;
  }

  #answer(v: number): void {
    this.#out = v;
    this.#status |= SB_OUT_FULL;
  }

  /** Mapped at 0x60 with length 5: offset 0 is the data port, offset 4 the command port. */
  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (offset === I8042_COMMAND_PORT - I8042_DATA_PORT) {
      data[0] = this.#status;
    } else if (offset === 0) {
      data[0] = this.#out;
      this.#status &= ~SB_OUT_FULL;
    }
  }

  write(offset: number, data: Uint8Array): void {
    const v = data[0] ?? 0;
    if (offset === I8042_COMMAND_PORT - I8042_DATA_PORT) {
      this.#status |= SB_CMD_DATA;
      this.#pending = 0;
      switch (v) {
        case CMD_READ_CTR:
          this.#answer(this.#ctr);
          break;
        case CMD_WRITE_CTR:
        case 0xd4:
          this.#pending = v;
          break;
        case CMD_SELF_TEST:
          this.#answer(0x55);
          break;
        case 0xa9:
        case 0xab:
          this.#answer(0x00);
          break;
        case CMD_RESET_CPU:
          this.#onReset();
          break;
        default: // 0xa7, 0xa8, 0xad, 0xae and the rest: accepted, no answer
      }
    } else if (offset === 0) {
      this.#status &= ~SB_CMD_DATA;
      if (this.#pending === CMD_WRITE_CTR) this.#ctr = v;
      // Bytes for the keyboard or (0xd4) the mouse go nowhere: no device answers.
      this.#pending = 0;
    }
  }
}
