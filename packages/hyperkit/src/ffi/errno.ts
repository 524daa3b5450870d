import { constants } from 'node:os';

/** errno number -> name (`2` -> `ENOENT`), from the platform's own table. */
const names = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Several names can share a number (EAGAIN/EWOULDBLOCK); keep the first, canonical one.
  if (!names.has(value)) names.set(value, name);
}

export function errnoName(errno: number): string {
  return names.get(errno) ?? `E${errno}`;
}
