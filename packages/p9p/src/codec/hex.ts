/*
 * Hex helpers for golden-byte tests and protocol dumps. Internal.
 */

/**
 * Bytes from hex strings; spaces inside a part are ignored, so a test can
 * write one field per part: fromHex('13000000', '64', 'ffff').
 */
export function fromHex(...parts: string[]): Uint8Array {
  const hex = parts.join('').replace(/\s+/g, '');
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex, two digits a byte, no separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
