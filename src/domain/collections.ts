/**
 * Appends `value` to the list filed under `key`, creating it on first use. In place: rebuilding
 * the list on every append (`[...(map.get(key) ?? []), value]`) copies it each time, which is
 * quadratic when one key gathers most values (one account's 100k requests).
 */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
