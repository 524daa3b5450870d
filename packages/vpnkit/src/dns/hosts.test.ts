import { describe, expect, it } from 'vitest';
import { LocalNames, addressBytes, normalizeName, parseHosts, reverseName } from './hosts.js';
import { parseResolvConf } from './resolvconf.js';

describe('addressBytes', () => {
  it('parses IPv4 and IPv6 in their usual spellings', () => {
    expect([...addressBytes('192.168.65.2')!]).toEqual([192, 168, 65, 2]);
    expect([...addressBytes('::1')!]).toEqual([...new Array<number>(15).fill(0), 1]);
    expect([...addressBytes('::')!]).toEqual(new Array<number>(16).fill(0));
    expect([...addressBytes('fd00:1::2:3')!]).toEqual([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3]);
    expect([...addressBytes('1:2:3:4:5:6:7:8')!]).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect([...addressBytes('::ffff:10.0.0.1')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
    expect([...addressBytes('64:ff9b::192.0.2.33')!].slice(12)).toEqual([192, 0, 2, 33]);
  });
  it('rejects junk and scoped addresses', () => {
    for (const bad of ['', 'localhost', '1.2.3', '256.1.1.1', '1::2::3', 'fe80::1%eth0', '12345::']) {
      expect(addressBytes(bad)).toBeUndefined();
    }
  });
});

describe('reverseName', () => {
  it('builds in-addr.arpa and ip6.arpa names', () => {
    expect(reverseName(Uint8Array.from([10, 1, 2, 3]))).toBe('3.2.1.10.in-addr.arpa');
    expect(reverseName(addressBytes('2001:db8::567:89ab')!)).toBe(
      'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
  });
});

describe('parseHosts', () => {
  it('reads several names per line, comments, IPv4 and IPv6, and skips junk', () => {
    const t = new LocalNames();
    const n = parseHosts(
      '# header\n127.0.0.1\tlocalhost localhost.localdomain\n::1 localhost ip6-localhost #c\nbogus name.x\n\r\n10.0.0.1 A.B # x.y\n',
      t,
    );
    expect(n).toBe(5);
    expect(t.lookup('LOCALHOST.')?.v4.length).toBe(1);
    expect(t.lookup('localhost')?.v6.length).toBe(1);
    expect(t.lookup('a.b')).toBeDefined();
    expect(t.lookup('x.y')).toBeUndefined();
    expect(t.lookup('name.x')).toBeUndefined();
    expect(t.reverse('1.0.0.10.in-addr.arpa')).toBe('a.b');
  });
  it('ignores invalid names', () => {
    const t = new LocalNames();
    expect(parseHosts(`10.0.0.1 a..b ${'x'.repeat(64)}.com ok\n`, t)).toBe(1);
  });
  it('normalizes names', () => {
    expect(normalizeName('Host.Docker.Internal.')).toBe('host.docker.internal');
  });
});

describe('parseResolvConf', () => {
  it('reads nameserver lines, IPv4 and IPv6, and ignores everything else', () => {
    const text = [
      '# generated',
      'search corp.example   example.com',
      'domain corp.example',
      'options ndots:2 timeout:1 rotate',
      'nameserver 10.0.0.53',
      'nameserver 2001:db8::53 # trailing',
      '; nameserver 10.9.9.9',
      'nameserver not-an-ip',
      'nameserver',
      'nameserver 10.0.0.53',
      'nameserver fe80::1%eth0',
      '  nameserver\t1.1.1.1  ',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual([
      { host: '10.0.0.53', port: 53 },
      { host: '2001:db8::53', port: 53 },
      { host: 'fe80::1%eth0', port: 53 },
      { host: '1.1.1.1', port: 53 },
    ]);
  });
  it('is bounded and tolerates an empty file', () => {
    expect(parseResolvConf('')).toEqual([]);
    const many = Array.from({ length: 100 }, (_, i) => `nameserver 10.0.0.${i}`).join('\n');
    expect(parseResolvConf(many).length).toBe(8);
  });
});
