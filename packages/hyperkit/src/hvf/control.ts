/**
 * Control registers under VMX on Hypervisor.framework. VMX fixes some CR0/CR4 bits while
 * the guest runs (CR0.NE set, CR4.VMXE set: IA32_VMX_CR{0,4}_FIXED0); the guest must not
 * see them, so those bits are owned by the VMM through the guest/host masks, and the guest
 * reads the read shadows instead (SDM vol. 3C 25.6.6). CR0.PG is owned too, so that the
 * VMM sees paging turn on or off and keeps EFER.LMA and the "IA-32e mode guest" entry
 * control in step (what a CPU does on its own outside VMX; QEMU's HVF backend does the
 * same). PE may change freely: the backend asks for "unrestricted guest".
 */
import { ENTRY_CTLS } from './vmcs.js';

export const CR0_PE = 1n << 0n;
export const CR0_TS = 1n << 3n;
export const CR0_NE = 1n << 5n;
export const CR0_PG = 1n << 31n;
export const CR4_VMXE = 1n << 13n;
export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;

/** Bits of CR0 / CR4 whose guest writes exit to the VMM. */
export const CR0_OWNED = CR0_NE | CR0_PG;
export const CR4_OWNED = CR4_VMXE;

/** What to write to the VMCS for a guest-visible CR0/CR4/EFER. */
export interface ControlState {
  guestCr0: bigint;
  cr0Shadow: bigint;
  guestCr4: bigint;
  cr4Shadow: bigint;
  efer: bigint;
  entryCtls: number;
}

/**
 * The VMCS values for guest-visible `cr0`, `cr4` and `efer`: fixed bits forced in the real
 * registers, the guest's own values in the shadows, EFER.LMA = LME && PG and the IA-32e
 * entry control following LMA.
 */
export function controlState(cr0: bigint, cr4: bigint, efer: bigint, entryCtls: number): ControlState {
  const lma = (efer & EFER_LME) !== 0n && (cr0 & CR0_PG) !== 0n;
  return {
    guestCr0: cr0 | CR0_NE,
    cr0Shadow: cr0,
    guestCr4: cr4 | CR4_VMXE,
    cr4Shadow: cr4,
    efer: lma ? efer | EFER_LMA : efer & ~EFER_LMA,
    entryCtls: (lma ? entryCtls | ENTRY_CTLS.IA32E_MODE_GUEST : entryCtls & ~ENTRY_CTLS.IA32E_MODE_GUEST) >>> 0,
  };
}

/** The value the guest reads: its own bits where the VMM owns them (the shadow), the real ones elsewhere. */
export function guestView(real: bigint, shadow: bigint, owned: bigint): bigint {
  return (real & ~owned) | (shadow & owned);
}

/** CR0 after LMSW `data` (SDM: loads bits 3:0, can set but never clear PE). */
export function lmsw(cr0: bigint, data: number): bigint {
  const src = BigInt(data & 0xf);
  return (cr0 & ~0xen) | (src & 0xen) | ((cr0 | src) & CR0_PE);
}
