/** `@kitbox/hyperkit/testing`: helpers for tests of code built on hyperkit. */
export { makeBzImage } from './bzimage.js';
export { VirtqueueDriver, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, type UsedElement, type VirtqueueDriverLayout } from './virtqueue.js';
