/** The host boundary of the DNS forwarder (CONVENTIONS.md #3): one query to one upstream. */

export interface DnsServerAddress {
  host: string;
  port: number;
}

/**
 * Host I/O: one query to one upstream. Resolves with the response message
 * (its id equal to the query's) or rejects; the caller bounds it with `signal`.
 */
export interface DnsTransport {
  query(server: DnsServerAddress, message: Uint8Array, proto: 'udp' | 'tcp', signal: AbortSignal): Promise<Uint8Array>;
}
