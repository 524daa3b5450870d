/**
 * The part of the i8042 keyboard controller a VM needs: the reset line. Linux resets the
 * machine by writing 0xFE (pulse output port bit 0, the CPU reset) to the command port
 * 0x64; `reboot=k` selects that method. Status reads say "no data, input buffer empty",
 * so the driver finds no keyboard and moves on.
 */
import type { BusDevice } from '../bus.js';

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
const CMD_RESET_CPU = 0xfe;

export class I8042 implements BusDevice {
  readonly #onReset: () => void;

  constructor({ onReset }: { onReset: () => void }) {
    this.#onReset = onReset;
  }

  /** Mapped at 0x60 with length 5: offset 0 is the data port, offset 4 the command port. */
  read(_offset: number, data: Uint8Array): void {
    data.fill(0);
  }

  write(offset: number, data: Uint8Array): void {
    if (offset === I8042_COMMAND_PORT - I8042_DATA_PORT && data[0] === CMD_RESET_CPU) this.#onReset();
  }
}
