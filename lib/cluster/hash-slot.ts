/** Redis Cluster hashes keys to 16384 slots with CRC16-XMODEM of the key (or of its hash tag). */
export const SLOT_COUNT = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/**
 * The hash tag Redis hashes instead of the whole key: the text between the first `{` and the
 * first `}` after it, if that is not empty. `undefined` when the key has no such tag.
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** The cluster slot of `key`, as `CLUSTER KEYSLOT` computes it. */
export function keyHashSlot(key: string): number {
  return crc16(Buffer.from(hashTagOf(key) ?? key, 'utf8')) % SLOT_COUNT;
}

const tagsBySlot = new Map<number, string>();

/**
 * A short hash tag that hashes to `slot`: lets derived keys join the slot of a key whose braces
 * make it impossible to wrap (`a}b`, `x{}y`). Found by search once per slot, then cached.
 */
export function tagForSlot(slot: number): string {
  let tag = tagsBySlot.get(slot);
  for (let n = 0; tag === undefined; n++) {
    const candidate = n.toString(36);
    const candidateSlot = keyHashSlot(candidate);
    if (!tagsBySlot.has(candidateSlot)) tagsBySlot.set(candidateSlot, candidate);
    if (candidateSlot === slot) tag = candidate;
  }
  return tag;
}
