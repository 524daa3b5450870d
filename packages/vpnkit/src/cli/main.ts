#!/usr/bin/env node
/** The `vpnkit` bin (see run.ts). */
import { main } from './run.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`vpnkit: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
