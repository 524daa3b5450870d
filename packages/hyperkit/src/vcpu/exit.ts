/**
 * vCPU exits as a tagged union (kvm-ioctls `VcpuExit`), decoded from the vCPU's shared
 * `struct kvm_run` (include/uapi/linux/kvm.h):
 *
 *   struct kvm_run {
 *     __u8 request_interrupt_window;   0     __u8 immediate_exit;   1
 *     __u8 padding1[6];                2
 *     __u32 exit_reason;               8     __u8 ready_for_interrupt_injection; 12
 *     __u8 if_flag;                    13    __u16 flags;           14
 *     __u64 cr8;                       16    __u64 apic_base;       24
 *     union {                          32
 *       struct { __u8 direction; __u8 size; __u16 port; __u32 count;
 *                __u64 data_offset; } io;            // KVM_EXIT_IO
 *       struct { __u64 phys_addr; __u8 data[8]; __u32 len;
 *                __u8 is_write; } mmio;              // KVM_EXIT_MMIO
 *       struct { __u64 hardware_entry_failure_reason; __u32 cpu; } fail_entry;
 *       struct { __u32 suberror; __u32 ndata; __u64 data[16]; } internal;
 *       struct { __u32 type; __u32 ndata; __u64 data[16]; } system_event;
 *     };
 *   };
 *
 * `decodeExit` is pure: it reads a DataView and never touches KVM, so it is tested with
 * hand-made run areas. A hostile guest controls none of these fields directly, but
 * `io.data_offset`/`count`/`size` are still checked against the mapped area.
 */

export const KVM_EXIT = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;

export const RUN_EXIT_REASON = 8;
const U = 32; // offset of the exit union

export type VcpuExit =
  | { kind: 'io-out'; port: number; size: 1 | 2 | 4; count: number; data: Uint8Array }
  | { kind: 'io-in'; port: number; size: 1 | 2 | 4; count: number; data: Uint8Array }
  | { kind: 'mmio-read'; address: bigint; len: number; data: Uint8Array }
  | { kind: 'mmio-write'; address: bigint; len: number; data: Uint8Array }
  | { kind: 'hlt' }
  | { kind: 'shutdown' }
  | { kind: 'intr' }
  | { kind: 'irq-window-open' }
  | { kind: 'fail-entry'; reason: bigint; cpu: number }
  | { kind: 'internal-error'; suberror: number; data: bigint[] }
  | { kind: 'system-event'; type: number; data: bigint[] }
  | { kind: 'unknown'; reason: number };

/**
 * Decodes the exit now described by `run` (a view over the whole mapped kvm_run area).
 * `data` fields are views into that area: an `io-in` or `mmio-read` handler fills them
 * and KVM completes the instruction on the next KVM_RUN.
 */
export function decodeExit(run: DataView): VcpuExit {
  const reason = run.getUint32(RUN_EXIT_REASON, true);
  const bytes = new Uint8Array(run.buffer, run.byteOffset, run.byteLength);
  switch (reason) {
    case KVM_EXIT.IO: {
      const direction = run.getUint8(U);
      const size = run.getUint8(U + 1);
      const port = run.getUint16(U + 2, true);
      const count = run.getUint32(U + 4, true);
      const offset = Number(run.getBigUint64(U + 8, true));
      if ((size !== 1 && size !== 2 && size !== 4) || count === 0 || offset + size * count > run.byteLength || offset < 64) {
        return { kind: 'unknown', reason };
      }
      // Bounds checked just above against the mapped run area.
      const data = bytes.subarray(offset, offset + size * count);
      return { kind: direction === 1 ? 'io-out' : 'io-in', port, size, count, data };
    }
    case KVM_EXIT.MMIO: {
      const address = run.getBigUint64(U, true);
      const len = Math.min(run.getUint32(U + 16, true), 8);
      const data = bytes.subarray(U + 8, U + 8 + len);
      return { kind: run.getUint8(U + 20) ? 'mmio-write' : 'mmio-read', address, len, data };
    }
    case KVM_EXIT.HLT:
      return { kind: 'hlt' };
    case KVM_EXIT.SHUTDOWN:
      return { kind: 'shutdown' };
    case KVM_EXIT.INTR:
      return { kind: 'intr' };
    case KVM_EXIT.IRQ_WINDOW_OPEN:
      return { kind: 'irq-window-open' };
    case KVM_EXIT.FAIL_ENTRY:
      return { kind: 'fail-entry', reason: run.getBigUint64(U, true), cpu: run.getUint32(U + 8, true) };
    case KVM_EXIT.INTERNAL_ERROR:
    case KVM_EXIT.SYSTEM_EVENT: {
      const first = run.getUint32(U, true);
      const ndata = Math.min(run.getUint32(U + 4, true), 16);
      const data = Array.from({ length: ndata }, (_, i) => run.getBigUint64(U + 8 + i * 8, true));
      return reason === KVM_EXIT.INTERNAL_ERROR
        ? { kind: 'internal-error', suberror: first, data }
        : { kind: 'system-event', type: first, data };
    }
    default:
      return { kind: 'unknown', reason };
  }
}
