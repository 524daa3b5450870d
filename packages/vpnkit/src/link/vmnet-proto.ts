/**
 * The vpnkit/hyperkit "VMN3T" handshake, byte-exact with moby/hyperkit
 * src/lib/pci_virtio_net_vpnkit.c (the client) and moby/vpnkit's
 * vmnet protocol module (the server).  All integers little-endian.
 *
 *   struct msg_init {            // 49 bytes, both directions
 *     uint8_t  magic[5];         // "VMN3T"
 *     uint32_t version;          // 22
 *     uint8_t  commit[40];       // git sha, not NUL-terminated
 *   } __packed;
 *
 *   struct msg_command {         // 41 bytes, client -> server
 *     uint8_t command;           // 1 = ethernet, 8 = preferred_ipv4
 *     union {
 *       struct { char uuid[36]; } ethernet;
 *       struct { char uuid[36]; in_addr_t ip; } preferred_ipv4;  // ip little-endian
 *     };
 *   } __packed;
 *
 *   struct msg_response {        // 258 bytes, server -> client
 *     uint8_t response_type;     // 1 = vif, 2 = disconnect
 *     union {
 *       struct { uint8_t len; char msg[256]; } disconnect;
 *       struct { uint16_t mtu; uint16_t max_packet_size; uint8_t mac[6]; } vif;
 *     };
 *   } __packed;
 *
 * Then frames, each preceded by a 2-byte little-endian length
 * (`header[0] = length & 0xff; header[1] = (length >> 8) & 0xff`).
 */

export const VMNET_MAGIC = 'VMN3T';
export const VMNET_VERSION = 22;
export const VMNET_INIT_LEN = 49;
export const VMNET_COMMAND_LEN = 41;
export const VMNET_RESPONSE_LEN = 258;
export const VMNET_CMD_ETHERNET = 1;
export const VMNET_CMD_PREFERRED_IPV4 = 8;
export const VMNET_RESP_VIF = 1;
export const VMNET_RESP_DISCONNECT = 2;

export interface VmnetInit {
  readonly magic: string;
  readonly version: number;
  readonly commit: string;
}

export type VmnetCommand =
  | { readonly kind: 'ethernet'; readonly uuid: string }
  | { readonly kind: 'preferredIpv4'; readonly uuid: string; readonly ip: number };

export interface VmnetVif {
  readonly mtu: number;
  readonly maxPacketSize: number;
  readonly mac: Uint8Array;
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

export function encodeInit(init: VmnetInit = { magic: VMNET_MAGIC, version: VMNET_VERSION, commit: '0'.repeat(40) }): Uint8Array {
  const b = new Uint8Array(VMNET_INIT_LEN);
  for (let i = 0; i < 5; i++) b[i] = init.magic.charCodeAt(i) & 0xff;
  new DataView(b.buffer).setUint32(5, init.version >>> 0, true);
  for (let i = 0; i < 40; i++) b[9 + i] = (init.commit.charCodeAt(i) || 0x30) & 0xff;
  return b;
}

/** Parse a 49-byte init; undefined when the magic is not VMN3T. */
export function decodeInit(b: Uint8Array): VmnetInit | undefined {
  if (b.length < VMNET_INIT_LEN) return undefined;
  const magic = ascii(b.subarray(0, 5));
  if (magic !== VMNET_MAGIC) return undefined;
  const version = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(5, true);
  return { magic, version, commit: ascii(b.subarray(9, 49)) };
}

export function encodeCommand(cmd: VmnetCommand): Uint8Array {
  const b = new Uint8Array(VMNET_COMMAND_LEN);
  b[0] = cmd.kind === 'ethernet' ? VMNET_CMD_ETHERNET : VMNET_CMD_PREFERRED_IPV4;
  for (let i = 0; i < 36; i++) b[1 + i] = cmd.uuid.charCodeAt(i) & 0xff;
  if (cmd.kind === 'preferredIpv4') new DataView(b.buffer).setUint32(37, cmd.ip >>> 0, true);
  return b;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Parse a 41-byte command; undefined for an unknown command or a malformed uuid. */
export function decodeCommand(b: Uint8Array): VmnetCommand | undefined {
  if (b.length < VMNET_COMMAND_LEN) return undefined;
  const uuid = ascii(b.subarray(1, 37));
  if (!UUID.test(uuid)) return undefined;
  if (b[0] === VMNET_CMD_ETHERNET) return { kind: 'ethernet', uuid: uuid.toLowerCase() };
  if (b[0] === VMNET_CMD_PREFERRED_IPV4) {
    // hyperkit byte-swaps the network-order address, so on the wire it is little-endian.
    const ip = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(37, true);
    return { kind: 'preferredIpv4', uuid: uuid.toLowerCase(), ip };
  }
  return undefined;
}

export function encodeVif(vif: VmnetVif): Uint8Array {
  const b = new Uint8Array(VMNET_RESPONSE_LEN);
  const v = new DataView(b.buffer);
  b[0] = VMNET_RESP_VIF;
  v.setUint16(1, vif.mtu, true);
  v.setUint16(3, vif.maxPacketSize, true);
  b.set(vif.mac.subarray(0, 6), 5);
  return b;
}

export function decodeVif(b: Uint8Array): VmnetVif | undefined {
  if (b.length < VMNET_RESPONSE_LEN || b[0] !== VMNET_RESP_VIF) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { mtu: v.getUint16(1, true), maxPacketSize: v.getUint16(3, true), mac: Uint8Array.from(b.subarray(5, 11)) };
}

export function encodeDisconnect(reason: string): Uint8Array {
  const b = new Uint8Array(VMNET_RESPONSE_LEN);
  b[0] = VMNET_RESP_DISCONNECT;
  const msg = new TextEncoder().encode(reason).subarray(0, 255);
  b[1] = msg.length;
  b.set(msg, 2);
  return b;
}
