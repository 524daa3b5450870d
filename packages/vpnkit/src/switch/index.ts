/** The learning switch, the `Link` interface and its bounded frame queue. */
export { FrameQueue } from './frame-queue.js';
export { emptyLinkStats, type Link, type LinkStats } from './link.js';
export { MacTable, type MacTableOptions } from './mac-table.js';
export { Switch, type LocalHandler, type SwitchOptions, type SwitchStats } from './switch.js';
