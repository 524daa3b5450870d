/**
 * VMCS field encodings, VM-exit reasons and VM-execution control bits: only documented
 * constants (Intel SDM vol. 3D, Appendix B "Field Encoding in VMCS", Appendix C "VMX Basic
 * Exit Reasons", and vol. 3C 25.6 / 25.7 / 25.8 for the control bits). The x86_64
 * Hypervisor.framework exposes the VMCS of each vCPU through hv_vmx_vcpu_{read,write}_vmcs
 * with these same encodings.
 */

export const VMCS = {
  // 16-bit guest-state fields
  GUEST_ES_SELECTOR: 0x0800,
  GUEST_CS_SELECTOR: 0x0802,
  GUEST_SS_SELECTOR: 0x0804,
  GUEST_DS_SELECTOR: 0x0806,
  GUEST_FS_SELECTOR: 0x0808,
  GUEST_GS_SELECTOR: 0x080a,
  GUEST_LDTR_SELECTOR: 0x080c,
  GUEST_TR_SELECTOR: 0x080e,
  // 64-bit fields
  GUEST_PHYSICAL_ADDRESS: 0x2400,
  GUEST_IA32_EFER: 0x2806,
  // 32-bit control fields
  PIN_BASED_CTLS: 0x4000,
  PRI_PROC_BASED_CTLS: 0x4002,
  EXCEPTION_BITMAP: 0x4004,
  EXIT_CTLS: 0x400c,
  ENTRY_CTLS: 0x4012,
  ENTRY_INTR_INFO: 0x4016,
  ENTRY_EXCEPTION_ERROR_CODE: 0x4018,
  ENTRY_INSTRUCTION_LENGTH: 0x401a,
  TPR_THRESHOLD: 0x401c,
  SEC_PROC_BASED_CTLS: 0x401e,
  // 32-bit read-only data fields
  INSTRUCTION_ERROR: 0x4400,
  EXIT_REASON: 0x4402,
  EXIT_INTR_INFO: 0x4404,
  EXIT_INTR_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO: 0x4408,
  IDT_VECTORING_ERROR_CODE: 0x440a,
  EXIT_INSTRUCTION_LENGTH: 0x440c,
  EXIT_INSTRUCTION_INFO: 0x440e,
  // 32-bit guest-state fields
  GUEST_ES_LIMIT: 0x4800,
  GUEST_CS_LIMIT: 0x4802,
  GUEST_SS_LIMIT: 0x4804,
  GUEST_DS_LIMIT: 0x4806,
  GUEST_FS_LIMIT: 0x4808,
  GUEST_GS_LIMIT: 0x480a,
  GUEST_LDTR_LIMIT: 0x480c,
  GUEST_TR_LIMIT: 0x480e,
  GUEST_GDTR_LIMIT: 0x4810,
  GUEST_IDTR_LIMIT: 0x4812,
  GUEST_ES_AR: 0x4814,
  GUEST_CS_AR: 0x4816,
  GUEST_SS_AR: 0x4818,
  GUEST_DS_AR: 0x481a,
  GUEST_FS_AR: 0x481c,
  GUEST_GS_AR: 0x481e,
  GUEST_LDTR_AR: 0x4820,
  GUEST_TR_AR: 0x4822,
  GUEST_INTERRUPTIBILITY: 0x4824,
  GUEST_ACTIVITY_STATE: 0x4826,
  // natural-width control fields
  CR0_MASK: 0x6000,
  CR4_MASK: 0x6002,
  CR0_SHADOW: 0x6004,
  CR4_SHADOW: 0x6006,
  // natural-width read-only data fields
  EXIT_QUALIFICATION: 0x6400,
  GUEST_LINEAR_ADDRESS: 0x640a,
  // natural-width guest-state fields
  GUEST_CR0: 0x6800,
  GUEST_CR3: 0x6802,
  GUEST_CR4: 0x6804,
  GUEST_ES_BASE: 0x6806,
  GUEST_CS_BASE: 0x6808,
  GUEST_SS_BASE: 0x680a,
  GUEST_DS_BASE: 0x680c,
  GUEST_FS_BASE: 0x680e,
  GUEST_GS_BASE: 0x6810,
  GUEST_LDTR_BASE: 0x6812,
  GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816,
  GUEST_IDTR_BASE: 0x6818,
  GUEST_RFLAGS: 0x6820,
} as const;

/** Basic exit reasons (bits 15:0 of the exit-reason field). */
export const VMX_EXIT = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT: 3,
  SIPI: 4,
  INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  HLT: 12,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  VMCALL: 18,
  CR_ACCESS: 28,
  DR_ACCESS: 29,
  IO_INSTRUCTION: 30,
  RDMSR: 31,
  WRMSR: 32,
  ENTRY_FAIL_GUEST_STATE: 33,
  ENTRY_FAIL_MSR_LOADING: 34,
  MWAIT: 36,
  MONITOR_TRAP_FLAG: 37,
  MONITOR: 39,
  PAUSE: 40,
  ENTRY_FAIL_MACHINE_CHECK: 41,
  TPR_BELOW_THRESHOLD: 43,
  APIC_ACCESS: 44,
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  RDTSCP: 51,
  PREEMPTION_TIMER: 52,
  WBINVD: 54,
  XSETBV: 55,
} as const;

/** Bit 31 of the exit-reason field: the VM entry failed (SDM 27.8). */
export const EXIT_REASON_ENTRY_FAILURE = 0x8000_0000;

/** Pin-based controls (SDM 25.6.1). */
export const PIN_BASED = {
  EXTERNAL_INTERRUPT_EXITING: 1 << 0,
  NMI_EXITING: 1 << 3,
  VIRTUAL_NMIS: 1 << 5,
} as const;

/** Primary processor-based controls (SDM 25.6.2). */
export const PROC_BASED = {
  INTERRUPT_WINDOW_EXITING: 1 << 2,
  HLT_EXITING: 1 << 7,
  CR8_LOAD_EXITING: 1 << 19,
  CR8_STORE_EXITING: 1 << 20,
  UNCONDITIONAL_IO_EXITING: 1 << 24,
  SECONDARY_CONTROLS: 1 << 31,
} as const;

/** Secondary processor-based controls (SDM 25.6.2). */
export const PROC_BASED2 = {
  ENABLE_EPT: 1 << 1,
  UNRESTRICTED_GUEST: 1 << 7,
} as const;

/** VM-entry controls (SDM 25.8.1). */
export const ENTRY_CTLS = {
  IA32E_MODE_GUEST: 1 << 9,
  LOAD_IA32_EFER: 1 << 15,
} as const;

/**
 * A control value the CPU accepts: the bits `wanted`, plus every bit the capability says
 * must be 1 (its low 32 bits), minus every bit it says must be 0 (clear in its high 32 bits).
 */
export function cap2ctrl(cap: bigint, wanted: number): number {
  const mustBeOne = Number(cap & 0xffff_ffffn);
  const mayBeOne = Number((cap >> 32n) & 0xffff_ffffn);
  return ((wanted | mustBeOne) & mayBeOne) >>> 0;
}

/** VM-entry interruption-information field (SDM 25.8.3). */
export const INTR_INFO_VALID = 0x8000_0000;
export const INTR_INFO_DELIVER_ERROR_CODE = 1 << 11;
export const INTR_TYPE = { EXTERNAL: 0, NMI: 2, HARDWARE_EXCEPTION: 3, SOFTWARE_INTERRUPT: 4 } as const;

/** Guest interruptibility state (SDM 25.4.2): blocking by STI / MOV SS. */
export const INTERRUPTIBILITY_BLOCKING = 0x3;
