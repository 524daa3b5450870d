/** IPv6 Neighbor Discovery for the gateway: router advertisements, neighbour cache, address resolution. */
export { Ndp, type NdpOptions, type NdpOutput, type NdpReleased, type NdpStats, type RouterAdvertOptions } from './ndp.js';
export {
  NeighborCache,
  NeighborPending,
  type NeighborCacheOptions,
  type NeighborCacheStats,
  type NeighborPendingOptions,
  type NeighborPendingStats,
} from './neighbors.js';
