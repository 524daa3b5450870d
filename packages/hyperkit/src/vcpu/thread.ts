/**
 * `VcpuThread`: one vCPU on its own worker thread (Firecracker's vCPU threads). The
 * thread creates the vCPU and loops on KVM_RUN; each exit is handled here, on the main
 * thread, by the pure `handleExit` over the buses, reading and writing the shared kvm_run
 * area in place. `stop()` kicks the thread out of KVM_RUN with `immediate_exit` and a signal.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { HyperkitError } from '../errors.js';
import { errnoName } from '../ffi/errno.js';
import { pthreadKill, viewAt } from '../ffi/libc.js';
import type { Vm } from '../kvm/vm.js';
import { Vcpu } from '../kvm/vcpu.js';
import { decodeExit } from './exit.js';
import { handleExit, type Buses, type ExitAction } from './handle.js';
import { KICK_SIGNAL, KICK_SIGNAL_NUMBER, MAILBOX_WORDS, RUN_IMMEDIATE_EXIT, Slot, State } from './mailbox.js';

/** The compiled worker next to this module; from sources (tests), the package's build. */
function workerUrl(): URL {
  const here = new URL('./thread-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = fileURLToPath(here).replace(/\/src\/vcpu\/thread-worker\.js$/, '/dist/vcpu/thread-worker.js');
  if (existsSync(built)) return pathToFileURL(built);
  throw new HyperkitError('NOT_BUILT', `vCPU worker not found at ${fileURLToPath(here)} or ${built}: build the package first`);
}

let kickHandlerInstalled = false;
function installKickHandler(): void {
  // Without a handler the kick signal would terminate the process; with one, it only
  // makes the vCPU thread's KVM_RUN return EINTR.
  if (!kickHandlerInstalled) {
    process.on(KICK_SIGNAL, () => {});
    kickHandlerInstalled = true;
  }
}

export class VcpuThread {
  readonly vcpu: Vcpu;
  readonly #worker: Worker;
  readonly #box: Int32Array;
  readonly #tid: bigint;
  #started = false;
  #done: Promise<ExitAction> | undefined;

  private constructor(vcpu: Vcpu, worker: Worker, box: Int32Array, tid: bigint) {
    this.vcpu = vcpu;
    this.#worker = worker;
    this.#box = box;
    this.#tid = tid;
  }

  /** Starts a thread that creates vCPU `id` of `vm`; resolves once the vCPU exists. */
  static async spawn(vm: Vm, id: number, mmapSize: number): Promise<VcpuThread> {
    installKickHandler();
    const mailbox = new SharedArrayBuffer(MAILBOX_WORDS * 4);
    const worker = new Worker(workerUrl(), { workerData: { vmFd: vm.fd, id, mmapSize, mailbox } });
    const created = await new Promise<{ fd: number; runAddress: bigint; tid: bigint }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new HyperkitError('VCPU_THREAD', `vCPU ${id} thread exited (${code}) before creating its vCPU`)));
    });
    worker.removeAllListeners();
    // The worker's mapping of kvm_run is process-wide; this view lives until Vcpu.close().
    const buffer = viewAt(created.runAddress, mmapSize);
    const vcpu = new Vcpu(id, created.fd, {
      address: created.runAddress,
      length: mmapSize,
      buffer,
      unmap: () => {}, // unmapped with the process; see close()
    });
    vm.adoptVcpu(vcpu);
    return new VcpuThread(vcpu, worker, new Int32Array(mailbox), created.tid);
  }

  /** Exits taken so far. */
  get exits(): number {
    return Atomics.load(this.#box, Slot.EXITS);
  }

  /**
   * Lets the vCPU run, handling its exits with `buses`, until an exit stops it (`halt`,
   * `shutdown`, `error`, ...) or `stop()` is called. Resolves with what stopped it.
   */
  start(buses: Buses): Promise<ExitAction> {
    if (this.#started) throw new HyperkitError('VCPU_STARTED', `vCPU ${this.vcpu.id} was already started`);
    this.#started = true;
    this.#done = this.#loop(buses);
    // Only from READY: a thread stopped before it started has moved on to DONE.
    Atomics.compareExchange(this.#box, Slot.STATE, State.READY, State.RESUME);
    Atomics.notify(this.#box, Slot.STATE);
    return this.#done;
  }

  async #loop(buses: Buses): Promise<ExitAction> {
    const box = this.#box;
    const exitDone = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    for (;;) {
      const state = Atomics.load(box, Slot.STATE);
      if (state === State.EXIT) {
        const action = Atomics.load(box, Slot.STOP) ? { action: 'stopped' as const } : handleExit(decodeExit(this.vcpu.runArea), buses);
        if (action.action !== 'continue') Atomics.store(box, Slot.STOP, 1);
        // EXIT -> RESUME is the main thread's move alone; the thread only leaves EXIT after it.
        Atomics.compareExchange(box, Slot.STATE, State.EXIT, State.RESUME);
        Atomics.notify(box, Slot.STATE);
        if (action.action !== 'continue') {
          await exitDone;
          return action;
        }
        continue;
      }
      if (state === State.DONE) {
        await exitDone;
        return { action: 'stopped' };
      }
      if (state === State.FAILED) {
        await exitDone;
        const errno = Atomics.load(box, Slot.ERRNO);
        return { action: 'error', message: `KVM_RUN failed: ${errnoName(errno)} (errno ${errno})` };
      }
      await Atomics.waitAsync(box, Slot.STATE, state).value;
    }
  }

  /** Asks the vCPU to stop and kicks it out of KVM_RUN; `start()`'s promise then resolves. */
  stop(): void {
    Atomics.store(this.#box, Slot.STOP, 1);
    // immediate_exit first, then the signal: whichever side of KVM_RUN the thread is on,
    // it sees one of them.
    this.vcpu.runArea.setUint8(RUN_IMMEDIATE_EXIT, 1);
    const state = Atomics.load(this.#box, Slot.STATE);
    if (state === State.READY) {
      // Never started: let the thread run into the stop flag.
      Atomics.store(this.#box, Slot.STATE, State.RESUME);
      Atomics.notify(this.#box, Slot.STATE);
    } else if (state === State.RUNNING || state === State.RESUME) {
      pthreadKill(this.#tid, KICK_SIGNAL_NUMBER);
    }
    // In EXIT the main loop owns the vCPU: it sees the stop flag when it hands it back.
  }

  /** Stops the thread (if running) and waits for it to end. The vCPU closes with its Vm. */
  async close(): Promise<void> {
    if (!this.#started) {
      this.stop();
      await new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      return;
    }
    this.stop();
    await this.#done;
  }
}
