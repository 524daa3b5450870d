/**
 * A tiny authoritative server for `example.test` on 127.0.0.1 (random UDP and
 * TCP ports), built with dns-packet, that counts the queries it receives.
 */
import { type Socket, createSocket } from 'node:dgram';
import { type AddressInfo, type Server, createServer } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DnsServerAddress } from './transport.js';

export const BIG_TXT = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(200, 'x'));
const SOA = {
  type: 'SOA',
  name: 'example.test',
  ttl: 300,
  data: { mname: 'ns.example.test', rname: 'admin.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
};

const ZONE: Record<string, dnsPacket.Answer[]> = {
  'a.example.test': [
    { type: 'A', name: 'a.example.test', ttl: 300, data: '10.0.0.1' },
    { type: 'AAAA', name: 'a.example.test', ttl: 300, data: '2001:db8::1' },
    { type: 'TXT', name: 'a.example.test', ttl: 300, data: ['hello'] },
    { type: 'MX', name: 'a.example.test', ttl: 300, data: { preference: 10, exchange: 'mail.example.test' } },
  ],
  'short.example.test': [{ type: 'A', name: 'short.example.test', ttl: 5, data: '10.0.0.2' }],
  'big.example.test': [{ type: 'TXT', name: 'big.example.test', ttl: 300, data: BIG_TXT }],
};

// dns-packet's encode takes the RCODE only inside `flags`.
const RCODE = { FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export type Behaviour = 'answer' | 'servfail' | 'silent' | 'wrong-id' | 'slow';

export class TestUpstream {
  queries = 0;
  behaviour: Behaviour = 'answer';
  /** Delay of 'slow', ms. */
  delayMs = 200;
  #udp!: Socket;
  #tcp!: Server;
  address!: DnsServerAddress;
  tcpAddress!: DnsServerAddress;

  static async start(): Promise<TestUpstream> {
    const s = new TestUpstream();
    await s.#listen();
    return s;
  }

  /** The server's answer to `query`, or undefined for no answer. */
  respond(query: Buffer): Buffer | undefined {
    const q = dnsPacket.decode(query);
    this.queries++;
    if (this.behaviour === 'silent') return undefined;
    const question = q.questions?.[0];
    const base = { id: q.id ?? 0, type: 'response' as const, questions: q.questions ?? [] };
    if (question === undefined) return dnsPacket.encode({ ...base, flags: RCODE.FORMERR });
    if (this.behaviour === 'servfail') return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE | RCODE.SERVFAIL });
    const name = question.name.toLowerCase();
    const records = ZONE[name];
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
    let out: Buffer;
    if (records === undefined) {
      out = dnsPacket.encode({ ...base, flags: flags | RCODE.NXDOMAIN, authorities: [SOA] });
    } else {
      // Copies: dns-packet turns TXT strings into Buffers in place.
      const answers = records.filter((r) => r.type === question.type).map((r) => ({ ...r, data: Array.isArray(r.data) ? [...r.data] : r.data }));
      out = dnsPacket.encode({ ...base, flags, answers, authorities: answers.length === 0 ? [SOA] : [] });
    }
    if (this.behaviour === 'wrong-id') out.writeUInt16BE(((q.id ?? 0) + 1) & 0xffff, 0);
    return out;
  }

  async #listen(): Promise<void> {
    this.#udp = createSocket('udp4');
    this.#udp.on('message', (msg, rinfo) => {
      const reply = this.respond(msg);
      if (reply === undefined) return;
      const send = (): void => this.#udp.send(reply, rinfo.port, rinfo.address);
      if (this.behaviour === 'slow') setTimeout(send, this.delayMs);
      else send();
    });
    await new Promise<void>((r) => this.#udp.bind(0, '127.0.0.1', r));
    this.address = { host: '127.0.0.1', port: this.#udp.address().port };
    this.#tcp = createServer((conn) => {
      let buf = Buffer.alloc(0);
      conn.on('error', () => undefined);
      conn.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          const reply = this.respond(msg);
          if (reply === undefined) continue;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          conn.write(Buffer.concat([len, reply]));
        }
      });
    });
    // The TCP server takes the UDP port when it can, so one address serves both.
    const port = this.address.port;
    await new Promise<void>((resolve) => {
      this.#tcp.once('error', () => this.#tcp.listen(0, '127.0.0.1', resolve));
      this.#tcp.listen(port, '127.0.0.1', resolve);
    });
    this.tcpAddress = { host: '127.0.0.1', port: (this.#tcp.address() as AddressInfo).port };
  }

  async close(): Promise<void> {
    this.#udp.close();
    await new Promise<void>((r) => this.#tcp.close(() => r()));
  }
}

/** A query built with dns-packet. */
export function query(name: string, type: string, opts: { id?: number; udpPayloadSize?: number } = {}): Uint8Array {
  const additionals: dnsPacket.Answer[] =
    opts.udpPayloadSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: opts.udpPayloadSize, options: [] }];
  return new Uint8Array(
    dnsPacket.encode({
      id: opts.id ?? 0x1234,
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
      additionals,
    }),
  );
}

export const decode = (m: Uint8Array): dnsPacket.Packet => dnsPacket.decode(Buffer.from(m));
