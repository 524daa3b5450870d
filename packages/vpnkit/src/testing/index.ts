/** Test kit: an in-memory link pair, a manual clock and a pcap writer. */
export { createLinkPair, type LinkPairOptions } from '../link/pair.js';
export { ManualClock } from './clock.js';
export { LINKTYPE_ETHERNET, PCAP_MAGIC, PcapWriter, type PcapSink } from './pcap.js';
export { ImpairedLink, type Impairment, type ImpairedLinkStats } from './impaired-link.js';
