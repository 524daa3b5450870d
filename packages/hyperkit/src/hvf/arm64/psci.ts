/**
 * The PSCI calls a Linux guest makes through HVC (Arm DEN0022 "Power State Coordination
 * Interface", 5.1 function IDs, SMC Calling Convention: function ID in W0, result in X0).
 * KVM answers these in the kernel; on HVF the VMM does. Pure: a call in, an answer out.
 *
 *   PSCI_VERSION       0x8400_0000  -> X0 = major[31:16] minor[15:0]
 *   MIGRATE_INFO_TYPE  0x8400_0006  -> X0 = 2 (no Trusted OS needing migration)
 *   SYSTEM_OFF         0x8400_0008  -> the VM powers off
 *   SYSTEM_RESET       0x8400_0009  -> the VM resets
 *   PSCI_FEATURES      0x8400_000a  -> X0 = 0 if the function in W1 is implemented, else NOT_SUPPORTED
 *   anything else                   -> X0 = NOT_SUPPORTED (-1), as KVM answers unknown calls
 */

export const PSCI = {
  VERSION: 0x8400_0000,
  MIGRATE_INFO_TYPE: 0x8400_0006,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
} as const;

/** PSCI 1.0. */
export const PSCI_VERSION_1_0 = 0x1_0000n;
export const PSCI_NOT_SUPPORTED = 0xffff_ffff_ffff_ffffn;
/** MIGRATE_INFO_TYPE: "Trusted OS is not present or does not require migration". */
const MIGRATE_NOT_REQUIRED = 2n;

/** KVM's system-event types (`struct kvm_run`.system_event.type), reused so handleExit treats both backends alike. */
export const SYSTEM_EVENT = { SHUTDOWN: 1, RESET: 2 } as const;

export type PsciAnswer = { x0: bigint } | { systemEvent: (typeof SYSTEM_EVENT)[keyof typeof SYSTEM_EVENT] };

const IMPLEMENTED = new Set<number>(Object.values(PSCI));

export function psciCall(x0: bigint, x1: bigint): PsciAnswer {
  const fn = Number(x0 & 0xffff_ffffn);
  switch (fn) {
    case PSCI.VERSION:
      return { x0: PSCI_VERSION_1_0 };
    case PSCI.MIGRATE_INFO_TYPE:
      return { x0: MIGRATE_NOT_REQUIRED };
    case PSCI.SYSTEM_OFF:
      return { systemEvent: SYSTEM_EVENT.SHUTDOWN };
    case PSCI.SYSTEM_RESET:
      return { systemEvent: SYSTEM_EVENT.RESET };
    case PSCI.FEATURES:
      return { x0: IMPLEMENTED.has(Number(x1 & 0xffff_ffffn)) ? 0n : PSCI_NOT_SUPPORTED };
    default:
      return { x0: PSCI_NOT_SUPPORTED };
  }
}
