#!/usr/bin/env -S node --initial-old-space-size=128
/**
 * The `vpnkit` bin (see run.ts).
 *
 * The shebang starts V8 with a 128 MiB initial old-generation limit: a relay that stops
 * allocating (a download reads host sockets into one shared buffer) otherwise leaves V8's
 * limit small, and the next burst that does allocate (an upload) then runs a mark-compact
 * every ~30 ms: 7.1 -> 5.4 Gbit/s measured (BENCHMARKS.md). `env -S` splits the line on
 * Linux (coreutils >= 8.30), macOS and BSD, and npm's Windows shims read it; run through
 * `node dist/cli/main.js` instead, pass the flag yourself.
 */
import { main } from './run.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`vpnkit: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
