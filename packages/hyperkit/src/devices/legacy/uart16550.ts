/**
 * A 16550A UART (National Semiconductor PC16550D datasheet), as COM1 at 0x3f8 / IRQ 4.
 *
 *   off  DLAB=0 read   DLAB=0 write  DLAB=1
 *   0    RBR           THR           DLL
 *   1    IER           IER           DLM
 *   2    IIR           FCR
 *   3    LCR           LCR
 *   4    MCR           MCR
 *   5    LSR           -
 *   6    MSR           -
 *   7    SCR           SCR
 *
 * Output is instantaneous (THR is always empty again at once); input is a bounded FIFO.
 * Interrupts are edge events (`onInterrupt`), raised when an enabled condition becomes
 * pending, as Linux's 8250 driver expects. Loopback mode (MCR bit 4) is modelled because
 * the driver's probe uses it.
 */
import type { BusDevice } from '../bus.js';

const IER_RDA = 0x01; // received data available
const IER_THRE = 0x02; // transmitter holding register empty
const IER_MASK = 0x0f;
const IIR_NONE = 0x01;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_FIFO = 0xc0;
const LCR_DLAB = 0x80;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f;
const MSR_DCD = 0x80;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;

export interface Uart16550Options {
  /** Called with each chunk the guest writes (one byte per call; batch downstream). */
  output: (data: Uint8Array) => void;
  /** Edge-triggered interrupt request to the interrupt controller. */
  onInterrupt?: () => void;
  /** Bytes of input buffered at most; more is refused by `input()`. */
  inputCapacity?: number;
}

export class Uart16550 implements BusDevice {
  #ier = 0;
  #lcr = 0x03; // 8N1
  #mcr = 0x08; // OUT2, as firmware leaves it
  #scr = 0;
  #dll = 0x0c; // 9600 baud
  #dlm = 0;
  #fifoEnabled = false;
  #thrEmptyPending = false;
  readonly #in: number[] = [];
  readonly #capacity: number;
  readonly #output: (data: Uint8Array) => void;
  readonly #onInterrupt: () => void;
  readonly #byte = new Uint8Array(1);

  constructor({ output, onInterrupt = () => {}, inputCapacity = 4096 }: Uart16550Options) {
    this.#output = output;
    this.#onInterrupt = onInterrupt;
    this.#capacity = inputCapacity;
  }

  /** Queues host input for the guest; returns how many bytes were taken. */
  input(data: Uint8Array): number {
    const n = Math.min(data.length, this.#capacity - this.#in.length);
    const wasEmpty = this.#in.length === 0;
    for (let i = 0; i < n; i++) this.#in.push(data[i] as number);
    if (n > 0 && wasEmpty && this.#ier & IER_RDA) this.#onInterrupt();
    return n;
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    data[0] = this.#readReg(offset);
  }

  write(offset: number, data: Uint8Array): void {
    this.#writeReg(offset, data[0] ?? 0);
  }

  #dlab(): boolean {
    return (this.#lcr & LCR_DLAB) !== 0;
  }

  #readReg(offset: number): number {
    switch (offset) {
      case 0:
        if (this.#dlab()) return this.#dll;
        return this.#in.shift() ?? 0;
      case 1:
        return this.#dlab() ? this.#dlm : this.#ier;
      case 2: {
        const fifo = this.#fifoEnabled ? IIR_FIFO : 0;
        if (this.#ier & IER_RDA && this.#in.length > 0) return IIR_RDA | fifo;
        if (this.#thrEmptyPending) {
          this.#thrEmptyPending = false; // reading IIR clears the THRE source
          return IIR_THRE | fifo;
        }
        return IIR_NONE | fifo;
      }
      case 3:
        return this.#lcr;
      case 4:
        return this.#mcr;
      case 5:
        return LSR_THRE | LSR_TEMT | (this.#in.length > 0 ? LSR_DR : 0);
      case 6:
        if (this.#mcr & MCR_LOOP) {
          // Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
          return ((this.#mcr & 0x02) << 3) | ((this.#mcr & 0x01) << 5) | ((this.#mcr & 0x04) << 4) | ((this.#mcr & 0x08) << 4);
        }
        return MSR_DCD | MSR_DSR | MSR_CTS;
      case 7:
        return this.#scr;
      default:
        return 0xff;
    }
  }

  #writeReg(offset: number, v: number): void {
    switch (offset) {
      case 0:
        if (this.#dlab()) {
          this.#dll = v;
        } else if (this.#mcr & MCR_LOOP) {
          if (this.#in.length < this.#capacity) this.#in.push(v);
          if (this.#ier & IER_RDA) this.#onInterrupt();
        } else {
          this.#byte[0] = v;
          this.#output(this.#byte);
          if (this.#ier & IER_THRE) {
            this.#thrEmptyPending = true;
            this.#onInterrupt();
          }
        }
        return;
      case 1:
        if (this.#dlab()) {
          this.#dlm = v;
        } else {
          const enablingThre = !(this.#ier & IER_THRE) && v & IER_THRE;
          this.#ier = v & IER_MASK;
          // The holding register is always empty: enabling its interrupt raises it at once.
          if (enablingThre) {
            this.#thrEmptyPending = true;
            this.#onInterrupt();
          }
          if (this.#ier & IER_RDA && this.#in.length > 0) this.#onInterrupt();
        }
        return;
      case 2:
        this.#fifoEnabled = (v & 0x01) !== 0;
        if (v & 0x02) this.#in.length = 0; // clear receive FIFO
        return;
      case 3:
        this.#lcr = v;
        return;
      case 4:
        this.#mcr = v & MCR_MASK;
        return;
      case 7:
        this.#scr = v;
        return;
      default:
    }
  }
}
