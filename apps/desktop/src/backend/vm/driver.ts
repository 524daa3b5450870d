/**
 * The one interface the backend drives a VM through, whichever VMM runs it: QEMU today;
 * hyperkit plugs in once it has virtio block, net and vsock (a later issue).
 */
import type { Link } from '@kitbox/vpnkit';

export interface VmImage {
  kernel: string;
  initrd: string;
  rootDisk: string;
}

export interface VmSpec {
  image: VmImage;
  cpus: number;
  memoryMiB: number;
  /** Docker's data disk (qcow2), created by the backend, kept across restarts. */
  dataDisk: string;
  /** Extra kernel command line. */
  cmdline?: string;
  /** Where the VM's network frames go: the driver connects the guest NIC to it. */
  network: { attach(link: Link): void };
}

export interface VmDriver {
  readonly name: string;
  /** Boots the VM; resolves once the VMM runs (not when the guest is up). */
  start(spec: VmSpec): Promise<void>;
  /** Asks the guest to shut down cleanly, then stops the VMM after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** Resolves when the VMM has exited. */
  exited(): Promise<{ code: number | null; signal: string | null }>;
  /** Every line the guest prints on its console. */
  onConsoleLine(fn: (line: string) => void): void;
  /** Sets the guest's clock (the agent's `clock` command) to `epochSeconds` UTC. */
  setClock(epochSeconds: number): void;
}
