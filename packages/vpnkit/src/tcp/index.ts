/**
 * TCP (RFC 9293 and friends): the connection state machine (`TcpConnection`,
 * `resetFor`) and the pure, tested parts it is built from.  Accepting or
 * refusing a SYN (LISTEN) is the owner's decision.
 */

export { Assembler, type Range } from './assembler.js';
export { RingBuffer } from './buffer.js';
export { BufferPool } from './pool.js';
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
export {
  TcpConnection,
  resetFor,
  type TcpCloseReason,
  type TcpConnectionStats,
  type TcpEvent,
  type TcpState,
} from './connection.js';
export { generateIsn, seededRandom, type RandomSource } from './isn.js';
export { SackScoreboard } from './scoreboard.js';
export { DEFAULT_RTT_OPTIONS, RttEstimator, type RttOptions } from './rtt.js';
export { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from './seq.js';
export { timeWaitInput, type TimeWait, type TimeWaitVerdict } from './time-wait.js';
