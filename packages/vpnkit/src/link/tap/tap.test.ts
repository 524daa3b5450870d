import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IFF_NO_PI, IFF_TAP, TUNSETIFF, TapLink, decodeIfreqName, encodeIfreq } from './tap.js';

const canTap = process.getuid?.() === 0 && existsSync('/dev/net/tun') && existsSync('/usr/sbin/ip');
const why = canTap ? '' : 'needs root, /dev/net/tun and ip(8)';

describe('ifreq', () => {
  it('encodes the name in the first 16 bytes and the flags at offset 16', () => {
    const r = encodeIfreq('vk0', IFF_TAP | IFF_NO_PI);
    expect(r.length).toBe(40);
    expect([...r.subarray(0, 4)]).toEqual([0x76, 0x6b, 0x30, 0]);
    expect([r[16], r[17]]).toEqual([0x02, 0x10]);
    expect(decodeIfreqName(r)).toBe('vk0');
    expect(TUNSETIFF).toBe(0x400454ca);
    expect(() => encodeIfreq('a-name-too-long-x', 0)).toThrow(RangeError);
  });
});

describe.skipIf(!canTap)(`TapLink (${why || 'root'})`, () => {
  it('creates a TAP, carries frames from the kernel, and idles without burning CPU', async () => {
    const name = `vkt${process.pid % 100000}`;
    const tap = TapLink.open({ name });
    try {
      expect(tap.name).toBe(name);
      expect(execFileSync('ip', ['link', 'show', name]).toString()).toContain(name);
      // Idle: measure CPU over 500 ms with the poller armed.
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 500));
      const used = process.cpuUsage(before);
      expect(used.user + used.system).toBeLessThan(100_000); // < 20% of one core (busy-polling would be ~100%)
      // Bring it up: the kernel sends IPv6 router solicitations / MLD reports out of it.
      execFileSync('ip', ['link', 'set', name, 'up']);
      execFileSync('ip', ['addr', 'add', '169.254.77.1/30', 'dev', name]);
      execFileSync('ip', ['neigh', 'replace', '169.254.77.2', 'lladdr', '02:00:00:00:77:02', 'dev', name]);
      // A ping routed to the TAP must come out as a frame on our fd (nobody answers).
      execFileSync('busybox', ['sh', '-c', 'busybox ping -c 1 -W 1 169.254.77.2 >/dev/null 2>&1 &']);
      const it = tap.frames();
      const deadline = Date.now() + 3000;
      let sawIcmp = false;
      let pending = it.next();
      while (!sawIcmp && Date.now() < deadline) {
        const r = await Promise.race([pending, new Promise<undefined>((res) => setTimeout(() => res(undefined), 200))]);
        if (r === undefined) continue;
        pending = it.next();
        if (r.done === true) break;
        const f = r.value;
        if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 1) sawIcmp = true;
      }
      expect(sawIcmp).toBe(true);
      expect(tap.stats().rxFrames).toBeGreaterThan(0);
      // And a frame written to the fd is accepted by the kernel.
      const f = new Uint8Array(60);
      f.fill(0xff, 0, 6);
      f.set([2, 0, 0, 0, 0x77, 2], 6);
      f[12] = 0x88;
      f[13] = 0xb5;
      expect(tap.send(f)).toBe(true);
    } finally {
      await tap.close();
    }
    expect(tap.send(new Uint8Array(60))).toBe(false);
  });

  it('deliverTo hands frames over inside the poll callback, queued ones first; a throwing sink costs a drop, not the process', async () => {
    const name = `vkd${process.pid % 100000}`;
    const tap = TapLink.open({ name });
    const got: Uint8Array[] = [];
    let thrown = 0;
    let done: Promise<void> | undefined;
    try {
      execFileSync('ip', ['link', 'set', name, 'up']);
      execFileSync('ip', ['addr', 'add', '169.254.78.1/30', 'dev', name]);
      execFileSync('ip', ['neigh', 'replace', '169.254.78.2', 'lladdr', '02:00:00:00:78:02', 'dev', name]);
      const isPing = (f: Uint8Array): boolean => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1;
      // Frames read before anyone listens wait in the queue ...
      execFileSync('busybox', ['sh', '-c', 'busybox ping -c 1 -W 1 169.254.78.2 >/dev/null 2>&1 || true']);
      await new Promise((r) => setTimeout(r, 100)); // the poll callback reads them into the queue
      const queued = tap.stats().rxFrames;
      expect(queued).toBeGreaterThan(0);
      // ... and reach the sink first, during the deliverTo call itself.
      done = tap.deliverTo((f) => {
        if (isPing(f) && got.filter(isPing).length === 1 && thrown === 0) {
          thrown++;
          throw new Error('a bug downstream');
        }
        got.push(f);
      });
      expect(got.length).toBe(queued);
      expect(got.filter(isPing).length).toBe(1);
      // Later frames arrive with nothing awaiting them: the second ping throws, the third lands.
      execFileSync('busybox', ['sh', '-c', 'busybox ping -c 2 -i 0.2 -W 1 169.254.78.2 >/dev/null 2>&1 &']);
      const deadline = Date.now() + 3000;
      while (got.filter(isPing).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(got.filter(isPing).length).toBe(2);
      expect(thrown).toBe(1);
      expect(tap.sinkErrors).toBe(1);
      expect(tap.stats().rxDropped).toBe(1);
      expect(tap.stats().rxFrames).toBe(got.length);
      await expect(tap.deliverTo(() => undefined)).rejects.toThrow(/already/);
    } finally {
      await tap.close();
    }
    await done; // resolves once the link is closed
  });
});

describe('prepareGso / preparePartial (vnet header for TSO)', () => {
  it('describes an IPv6 super-segment as GSO TCPV6 with the header length, MSS and checksum offsets', async () => {
    const { prepareGso, preparePartial, VIRTIO_NET_HDR_GSO_TCPV6, VNET_HDR_LEN } = await import('./tap.js');
    const { tcpFrame6 } = await import('../../nat/packet.js');
    const { Ipv6Address, TcpFlags, TcpPacket, onesFold, onesSum } = await import('../../wire/index.js');
    const src = Ipv6Address.parse('fd00::2');
    const dst = Ipv6Address.parse('fd00::3');
    const { wholeFrame } = await import('../../switch/gso.js');
    const split = tcpFrame6(src, dst, { srcPort: 1, dstPort: 2, seqNumber: 0, ackNumber: 0, flags: TcpFlags.Ack, windowLen: 1, payload: new Uint8Array(5000) }, true);
    split[12] = 0x86;
    split[13] = 0xdd;
    const f = wholeFrame(split);
    const hdr = new Uint8Array(VNET_HDR_LEN);
    expect(prepareGso(hdr, f, 1440)).toBe(true);
    expect([...hdr]).toEqual([1, VIRTIO_NET_HDR_GSO_TCPV6, 74, 0, 1440 & 0xff, 1440 >> 8, 54, 0, 16, 0]);
    // The headers alone, the payload carried apart: the same vnet header and checksum seed from the total length.
    const hdr2 = new Uint8Array(VNET_HDR_LEN);
    expect(split.length).toBe(74);
    expect(prepareGso(hdr2, split, 1440, f.length)).toBe(true);
    expect([...hdr2]).toEqual([...hdr]);
    expect([...split]).toEqual([...f.subarray(0, 74)]);
    // What the kernel does with NEEDS_CSUM: sum from csum_start to the end (seed included), store the complement.
    const done = f.slice();
    const c = ~onesFold(onesSum(done, 54, done.length)) & 0xffff;
    done[70] = c >>> 8;
    done[71] = c & 0xff;
    expect(TcpPacket.unchecked(done.subarray(54)).verifyChecksum(src, dst)).toBe(true);
    expect(prepareGso(hdr, f.subarray(0, 74 + 1000), 1440)).toBe(false); // fits one segment
    expect(preparePartial(hdr, f)).toBe(true);
    expect([hdr[0], hdr[1], hdr[6], hdr[8]]).toEqual([1, 0, 54, 16]);
  });
});

describe('partial checksums (vnet header NEEDS_CSUM)', () => {
  it('finishPartialChecksum fills in a partial TCP checksum exactly as a full computation would', async () => {
    const { tcpFrame } = await import('../../nat/packet.js');
    const { pseudoHeaderSum, onesFold, TcpPacket, Ipv4Address, TcpFlags } = await import('../../wire/index.js');
    const { finishPartialChecksum, partialChecksumAt } = await import('../../switch/gso.js');
    const src = Ipv4Address.parse('192.168.65.3');
    const dst = Ipv4Address.parse('10.1.2.3');
    const full = tcpFrame(src, dst, 1, { srcPort: 1234, dstPort: 80, seqNumber: 7, ackNumber: 9, flags: TcpFlags.Ack, windowLen: 100, payload: Uint8Array.from({ length: 999 }, (_, i) => i * 31) });
    const expected = TcpPacket.unchecked(full.subarray(34)).checksum;
    // What the kernel hands us: the pseudo-header sum in the field, the rest left to us.
    const partial = full.slice();
    const tcpLen = partial.length - 34;
    const seed = onesFold(pseudoHeaderSum(src, dst, 6, tcpLen));
    partial[34 + 16] = seed >>> 8;
    partial[34 + 17] = seed & 0xff;
    partialChecksumAt.set(partial, 34 * 65536 + 16); // csum_start 34, csum_offset 16, as a TAP records it
    finishPartialChecksum(partial);
    expect(TcpPacket.unchecked(partial.subarray(34)).checksum).toBe(expected);
    expect(partialChecksumAt.has(partial)).toBe(false); // finished once
    finishPartialChecksum(partial); // and a second call changes nothing
    expect(TcpPacket.unchecked(partial.subarray(34)).checksum).toBe(expected);
  });
});
