/**
 * What the VMM does with each vCPU exit: a pure function of the exit and the buses
 * (Firecracker `handle_kvm_exit`). The run loop only calls KVM_RUN and this.
 */
import type { Bus } from '../devices/bus.js';
import type { VcpuExit } from './exit.js';

export interface Buses {
  pio: Bus;
  mmio: Bus;
}

export type ExitAction =
  | { action: 'continue' }
  | { action: 'halt' }
  /** Stopped from outside (`VcpuThread.stop()`), not by the guest. */
  | { action: 'stopped' }
  | { action: 'shutdown' }
  | { action: 'system-event'; type: number }
  | { action: 'error'; message: string };

const CONTINUE: ExitAction = { action: 'continue' };

export function handleExit(exit: VcpuExit, buses: Buses): ExitAction {
  switch (exit.kind) {
    case 'io-out':
    case 'io-in': {
      // String I/O (`rep outsb`) hands over `count` elements of `size` bytes each.
      for (let i = 0; i < exit.count; i++) {
        const el = exit.data.subarray(i * exit.size, (i + 1) * exit.size);
        if (exit.kind === 'io-out') buses.pio.write(exit.port, el);
        else buses.pio.read(exit.port, el);
      }
      return CONTINUE;
    }
    case 'mmio-write':
      buses.mmio.write(Number(exit.address), exit.data);
      return CONTINUE;
    case 'mmio-read':
      buses.mmio.read(Number(exit.address), exit.data);
      return CONTINUE;
    case 'intr':
    case 'irq-window-open':
      return CONTINUE;
    case 'hlt':
      return { action: 'halt' };
    case 'shutdown':
      return { action: 'shutdown' };
    case 'system-event':
      return { action: 'system-event', type: exit.type };
    case 'fail-entry':
      return { action: 'error', message: `VM entry failed: hardware reason 0x${exit.reason.toString(16)} on cpu ${exit.cpu}` };
    case 'internal-error':
      return {
        action: 'error',
        message: `KVM internal error, suberror ${exit.suberror} (${exit.suberror === 1 ? 'instruction emulation failed' : 'see kvm.h'}), data [${exit.data.map((d) => `0x${d.toString(16)}`).join(', ')}]`,
      };
    case 'unknown':
      return { action: 'error', message: `unhandled KVM exit reason ${exit.reason}` };
  }
}
