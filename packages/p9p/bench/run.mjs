// Benchmark for @kitbox/p9p, run by `npm run bench -w @kitbox/p9p` (after the build).
//
// The figures that matter (TESTING.md) are read/write MB/s at msize 128 KiB and 1 MiB and
// small-file ops/s, against diod driven by the same client: bench/diod.mjs, run at the end.
// First, the codec alone, per message, on the hot-path messages (no peer, no ratio).
import { decode, encodeInto, encodedLength } from '../dist/index.js';

function bench(name, fn, { minMs = 300 } = {}) {
  for (let i = 0; i < 1000; i++) fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    t = performance.now();
  }
  return { name, nsPerOp: ((t - t0) * 1e6) / n };
}

const rows = [];
for (const size of [128 * 1024, 1024 * 1024]) {
  const data = new Uint8Array(size - 23);
  const twrite = { type: 'Twrite', tag: 1, fid: 7, offset: 0n, data };
  const buf = new Uint8Array(encodedLength(twrite, '9P2000.L'));
  const frame = buf.subarray(0, encodeInto(twrite, '9P2000.L', buf, 0));
  const enc = bench(`encodeInto Twrite, msize ${size / 1024} KiB`, () => encodeInto(twrite, '9P2000.L', buf, 0));
  const dec = bench(`decode Twrite, msize ${size / 1024} KiB (zero-copy data)`, () => decode(frame, '9P2000.L', { maxSize: size }));
  // Only encoding copies the payload; decoding returns a view, so MB/s means nothing there.
  rows.push({ ...enc, mbps: (size / enc.nsPerOp) * 1e3 }, dec);
}
const walk = { type: 'Twalk', tag: 2, fid: 1, newfid: 2, wnames: ['usr', 'local', 'bin'] };
const wbuf = new Uint8Array(256);
const wframe = wbuf.subarray(0, encodeInto(walk, '9P2000.L', wbuf, 0));
rows.push(bench('encodeInto Twalk (3 names)', () => encodeInto(walk, '9P2000.L', wbuf, 0)));
rows.push(bench('decode Twalk (3 names)', () => decode(wframe, '9P2000.L')));
const clunk = { type: 'Tclunk', tag: 3, fid: 9 };
rows.push(bench('encodeInto Tclunk', () => encodeInto(clunk, '9P2000.L', wbuf, 0)));

console.log(`@kitbox/p9p codec, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| operation | ns/op | MB/s (payload copied) |');
console.log('| --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${r.mbps ? r.mbps.toFixed(0) : ''} |`);
// The server against diod (LocalFs exporting the same folder), same client.
await import('./diod.mjs');
