/**
 * TCP building blocks (RFC 9293 and friends).  The connection state machine
 * (`connection.ts`, `listener.ts`) is not written yet; these are the pure,
 * tested parts it is built from.
 */

export { Assembler, type Range } from './assembler.js';
export { RingBuffer } from './buffer.js';
export {
  defaultMss,
  mssForMtu,
  resolveOptions,
  windowShiftFor,
  type ResolvedTcpOptions,
  type TcpEndpoint,
  type TcpOptions,
  type TcpSegment,
} from './config.js';
export { NewReno, type AckOutcome } from './congestion.js';
export { generateIsn, seededRandom, type RandomSource } from './isn.js';
export { DEFAULT_RTT_OPTIONS, RttEstimator, type RttOptions } from './rtt.js';
export { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from './seq.js';
