/**
 * Guest physical memory layout for x86_64 direct kernel boot. Only documented constants.
 *
 *   0x0000_0000  real-mode IVT and BIOS data area (left zero)
 *   0x0000_0500  GDT used at boot (4 entries)
 *   0x0000_0520  IDT used at boot (empty: interrupts stay off until Linux sets its own)
 *   0x0000_7000  boot_params, the "zero page" (Documentation/arch/x86/boot.rst)
 *   0x0000_8ff0  initial stack pointer (grows down)
 *   0x0000_9000  PML4, then PDPT at 0xa000 and PD at 0xb000: identity map of the first GiB
 *   0x0000_9fc00 EBDA: the MP table goes here, where Linux scans for it
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x000e_0000  ACPI tables: RSDP, XSDT, FACS, FADT, DSDT (4 KiB; Linux scans here for the RSDP)
 *   0x0010_0000  the protected-mode kernel (bzImage payload) or vmlinux segments
 *   ...          RAM up to the PCI hole, then above 4 GiB
 *   0xc000_0000  start of the 32-bit PCI MMIO hole (1 GiB, up to 4 GiB)
 *   0xfec0_0000  IOAPIC; 0xfee0_0000 LAPIC
 *   0xfeff_c000  KVM identity-map page (Intel VMX, real-mode emulation)
 *   0xfffb_d000  KVM TSS (three pages)
 */
export const BOOT_GDT_START = 0x500;
export const BOOT_GDT_MAX_ENTRIES = 4;
export const BOOT_IDT_START = 0x520;
export const ZERO_PAGE_START = 0x7000;
export const BOOT_STACK_POINTER = 0x8ff0;
export const PML4_START = 0x9000;
export const PDPTE_START = 0xa000;
export const PDE_START = 0xb000;
export const EBDA_START = 0x9fc00;
export const CMDLINE_START = 0x20000;
export const CMDLINE_MAX_SIZE = 0x10000;
export const HIMEM_START = 0x100000;
export const ACPI_TABLES_START = 0xe0000;
export const ACPI_TABLES_END = 0xe1000;

export const MMIO_GAP_START = 0xc000_0000;
export const MMIO_GAP_END = 0x1_0000_0000;
/**
 * PCI memory BARs live in the gap from its start up to the I/O APIC
 * (0xFEC0_0000; the I/O APIC and local APICs above are KVM's).
 */
export const PCI_MMIO_WINDOW_SIZE = 0xfec0_0000 - MMIO_GAP_START;
export const IOAPIC_START = 0xfec0_0000;
export const APIC_START = 0xfee0_0000;
export const KVM_IDENTITY_MAP_START = 0xfeff_c000;
export const KVM_TSS_START = 0xfffb_d000;

/** GDT selectors of the boot GDT (index << 3). */
export const GDT_CODE_SELECTOR = 1 << 3;
export const GDT_DATA_SELECTOR = 2 << 3;
export const GDT_TSS_SELECTOR = 3 << 3;
