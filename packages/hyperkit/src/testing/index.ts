/** `@kitbox/hyperkit/testing`: helpers for tests of code built on hyperkit. */
export { makeBzImage } from './bzimage.js';
