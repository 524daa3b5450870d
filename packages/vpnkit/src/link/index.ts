/** Links: in-process pair, QEMU stream, vpnkit/hyperkit VMN3T (TAP is in ./tap/). */
export { createLinkPair, type LinkPairOptions } from './pair.js';
export { QemuStreamServer, type StreamServerOptions } from './qemu.js';
export {
  QEMU_FRAMING,
  StreamLink,
  VMNET_FRAMING,
  type StreamFraming,
  type StreamLinkOptions,
  type StreamLinkStats,
} from './stream-link.js';
export { VmnetServer, defaultVif, macForUuid, type VmnetConnection, type VmnetServerOptions } from './vmnet.js';
export * from './vmnet-proto.js';
