/**
 * Work queued per key (a chat, a channel): one item at a time per key, in order, whatever the
 * previous item's outcome; keys run side by side. Outbound messages use it so a rate-limit
 * wait on one chat delays that chat only, and its messages keep their order.
 */
export function createKeyedQueue(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}
