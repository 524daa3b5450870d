export { TapLink, TUNSETIFF, IFF_NO_PI, IFF_TAP, IFREQ_SIZE, encodeIfreq, decodeIfreqName, type TapOptions } from './tap.js';
