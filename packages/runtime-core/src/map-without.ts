/**
 * `map` without `key`: `map` itself, or, when `key` was its last entry, a fresh empty map that the
 * caller keeps instead. A long-lived map that goes 0 → 1 → 0 on every run or pause makes V8
 * shrink and regrow its table each time, and once the map is old-generation each new table is kept
 * alive by the old one through the next young-generation GCs (deleting the last wait of a pause →
 * resume cycle this way was 15 % of the cycle).
 */
export function mapWithout<K, V>(map: Map<K, V>, key: K): Map<K, V> {
  if (map.size === 1 && map.has(key)) return new Map();
  map.delete(key);
  return map;
}
