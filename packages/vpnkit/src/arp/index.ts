/** ARP for the gateway: responder, bounded cache, bounded pending queue. */
export { Arp, type ArpOptions, type ArpReleased, type ArpStats } from './arp.js';
export { ArpCache, type ArpCacheOptions, type ArpCacheStats } from './cache.js';
export { PendingQueue, type EnqueueResult, type PendingOptions, type PendingStats } from './pending.js';
