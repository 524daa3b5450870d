/*
 * Which layout reads a type byte, and which writes a message name. Internal.
 *
 *   size[4] type[1] tag[2] ...   (type numbers: Linux include/net/9p/9p.h)
 */
import { classic } from './classic.js';
import { dotl } from './dotl.js';
import type { Layout, Layouts } from './layout.js';
import { MessageType } from './types.js';
import type { Fcall, FcallType } from './types.js';

export interface Entry {
  readonly name: FcallType;
  readonly id: number;
  readonly layout: Layout<Fcall>;
}

const layouts: Layouts<FcallType> = { ...classic, ...dotl };

const byName = new Map<string, Entry>();
/** Indexed by the type byte; undefined for numbers that name no message. */
const byId: (Entry | undefined)[] = new Array<Entry | undefined>(256).fill(undefined);

for (const name of Object.keys(layouts) as FcallType[]) {
  const entry: Entry = { name, id: MessageType[name], layout: layouts[name] as Layout<Fcall> };
  byName.set(name, entry);
  byId[entry.id] = entry;
}

export function entryById(id: number): Entry | undefined {
  return byId[id];
}

export function entryByName(name: string): Entry | undefined {
  return byName.get(name);
}

/** Every message name, for tests and tools. */
export const FCALL_TYPES: readonly FcallType[] = [...byName.keys()] as FcallType[];
