/**
 * The body of a vCPU thread (a worker_threads Worker). The vCPU is created on this thread
 * and KVM_RUN always runs here; exits are handed to the main thread through the mailbox,
 * which reads them from the shared kvm_run area (no copy) and hands the vCPU back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SyscallError } from '../errors.js';
import { ioctl, MAP_SHARED, mmap, PROT_READ, PROT_WRITE, pthreadSelf } from '../ffi/libc.js';
import { KVM_CREATE_VCPU, KVM_RUN } from '../kvm/ioctls.js';
import { Slot, State } from './mailbox.js';

export interface VcpuWorkerData {
  vmFd: number;
  id: number;
  mmapSize: number;
  mailbox: SharedArrayBuffer;
}

const { vmFd, id, mmapSize, mailbox } = workerData as VcpuWorkerData;
const box = new Int32Array(mailbox);
const port = parentPort;
if (!port) throw new Error('thread-worker.ts runs only as a worker thread');

const fd = ioctl(vmFd, KVM_CREATE_VCPU, id, 'KVM_CREATE_VCPU');
const run = mmap(mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
port.postMessage({ type: 'created', fd, runAddress: run.address, tid: pthreadSelf() });

// Wait until the main thread has set up registers and says go (or stop).
Atomics.wait(box, Slot.STATE, State.READY);

let final: number = State.DONE;
for (;;) {
  if (Atomics.load(box, Slot.STOP)) break;
  Atomics.store(box, Slot.STATE, State.RUNNING);
  try {
    ioctl(fd, KVM_RUN, 0, 'KVM_RUN');
  } catch (err) {
    if (err instanceof SyscallError && (err.code === 'EINTR' || err.code === 'EAGAIN')) continue; // kicked
    Atomics.store(box, Slot.ERRNO, err instanceof SyscallError ? err.errno : -1);
    final = State.FAILED;
    break;
  }
  Atomics.add(box, Slot.EXITS, 1);
  Atomics.store(box, Slot.STATE, State.EXIT);
  Atomics.notify(box, Slot.STATE);
  Atomics.wait(box, Slot.STATE, State.EXIT);
}
// The fd and mapping stay: the main thread's Vcpu owns them and closes them.
Atomics.store(box, Slot.STATE, final);
Atomics.notify(box, Slot.STATE);
