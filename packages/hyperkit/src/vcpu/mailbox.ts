/**
 * The shared words through which a vCPU thread and the VMM's main thread hand a vCPU back
 * and forth (an Int32Array over a SharedArrayBuffer, driven with Atomics):
 *
 *   STATE    who owns the vCPU now (values below)
 *   STOP     1 once a stop was requested: the thread leaves its loop at the next chance
 *   ERRNO    the errno of a failed KVM_RUN, when STATE is FAILED
 *   EXITS    exits taken so far (for stats)
 *
 * RUNNING -> EXIT (thread: KVM_RUN returned; kvm_run holds the exit)
 * EXIT -> RESUME (main: exit handled, data for io-in/mmio-read written into kvm_run)
 * RESUME -> RUNNING (thread) ... and DONE / FAILED when the thread ends.
 */
export const Slot = { STATE: 0, STOP: 1, ERRNO: 2, EXITS: 3 } as const;
export const State = { READY: 0, RUNNING: 1, EXIT: 2, RESUME: 3, DONE: 4, FAILED: 5 } as const;
export const MAILBOX_WORDS = 4;

/** kvm_run.immediate_exit (byte 1): KVM_RUN returns EINTR at once while it is set. */
export const RUN_IMMEDIATE_EXIT = 1;
/** The signal that kicks a vCPU thread out of KVM_RUN (a no-op handler is installed). */
export const KICK_SIGNAL = 'SIGUSR2';
export const KICK_SIGNAL_NUMBER = 12;
