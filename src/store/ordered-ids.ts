import { randomFillSync } from 'node:crypto';

/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit counter
 * for ids made in the same millisecond (method 1 of the RFC, so ids of one process only
 * grow), then 62 random bits. For documents written in bulk and then updated in bulk
 * (conciliation requests): the embedded engine keeps documents in a B-tree ordered by
 * `_id`, so a batch of ids made together sits on a few neighbouring pages, and a commit
 * rewrites those few pages instead of one page per document (random v4 ids scatter a batch of
 * 1,000 over ~1,000 pages, each rewritten whole). On MongoDB the same holds for the _id index.
 */

let lastMs = 0;
let counter = 0;
const pool = Buffer.alloc(8 * 512);
let poolAt = pool.length;

function randomBytes8(): Buffer {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 8;
  return pool.subarray(poolAt - 8, poolAt);
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

export function orderedUuid(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = 0;
  } else if (++counter > 0xfff) {
    // 4,096 ids in one millisecond: borrow the next one (ids stay ordered; the clock catches up).
    lastMs += 1;
    counter = 0;
  }
  const random = randomBytes8();
  const time = hex(lastMs, 12);
  const variant = ((random[0] as number) & 0x3f) | 0x80;
  const tail = random.subarray(1).toString('hex');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(counter, 3)}-${hex(variant, 2)}${tail.slice(0, 2)}-${tail.slice(2)}`;
}
