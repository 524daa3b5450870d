// The part of dns-packet 5.x the tests use (no @types/dns-packet in the workspace).
declare module 'dns-packet' {
  export interface Question {
    type: string;
    name: string;
    class?: string;
  }
  export interface Answer {
    type: string;
    name: string;
    ttl?: number;
    class?: string;
    flush?: boolean;
    udpPayloadSize?: number;
    options?: unknown[];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    data?: any;
  }
  export interface Packet {
    id?: number;
    type?: 'query' | 'response';
    flags?: number;
    rcode?: string;
    opcode?: string;
    questions?: Question[];
    answers?: Answer[];
    authorities?: Answer[];
    additionals?: Answer[];
  }
  export function encode(packet: Packet, buf?: Buffer, offset?: number): Buffer;
  export function decode(buf: Uint8Array, offset?: number): Packet;
  export const AUTHORITATIVE_ANSWER: number;
  export const TRUNCATED_RESPONSE: number;
  export const RECURSION_DESIRED: number;
  export const RECURSION_AVAILABLE: number;
}
