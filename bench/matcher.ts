import { matchRequests, type MatchRequest, type MatchTransaction } from '../src/reconcile/matcher.js';
import { report } from './lib/report.js';
import { mulberry32 } from '../test/helpers/prng.js';
import { FIRST, flat, LAST, shapes, shapeWorkload } from '../test/helpers/matcher-shapes.js';

/**
 * Matcher throughput (SPEC §8): inputs in memory, no database. Seeded 32-bit PRNG
 * (mulberry32), payer names from 60 first names × 60 surnames, dates over 20 days, one
 * currency, amounts uniform over A distinct values: realistic A = N/2, adversarial A = 20.
 * 70 % of transactions pay one of the requests (same amount and name, a few days around).
 * Then the input shapes of issue #17 (test/helpers/matcher-shapes.ts) at 10k, 100k and 1M,
 * each with its growth factor per ×10 (target ≤ 12, about linear) and 100k ≤ 1 s.
 */

const DAY = 86_400_000;
const START = Date.parse('2026-11-01T00:00:00Z');

function workload(n: number, distinctAmounts: number, seed: number): { requests: MatchRequest[]; transactions: MatchTransaction[] } {
  const random = mulberry32(seed);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  const requests: MatchRequest[] = new Array(n);
  const transactions: MatchTransaction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    requests[i] = { id: `r${i}`, amountMinor: 1000 + Math.floor(random() * distinctAmounts), currency: 'UYU', name: flat(`${pick(FIRST)} ${pick(LAST)}`), registeredAtMs: START + Math.floor(random() * 20 * DAY) };
  }
  for (let i = 0; i < n; i++) {
    const pays = requests[Math.floor(random() * n)] as MatchRequest;
    transactions[i] =
      random() < 0.7
        ? { id: `t${i}`, amountMinor: pays.amountMinor, currency: 'UYU', senderName: flat(pays.name as string), receivedAtMs: pays.registeredAtMs + Math.floor((random() * 4 - 2) * DAY) }
        : { id: `t${i}`, amountMinor: 1000 + Math.floor(random() * distinctAmounts), currency: 'UYU', senderName: flat(`${pick(FIRST)} ${pick(LAST)}`), receivedAtMs: START + Math.floor(random() * 20 * DAY) };
  }
  return { requests, transactions };
}

const gc = (globalThis as { gc?: () => void }).gc;

type Case = { label: string; n: number; make: (n: number, seed: number) => ReturnType<typeof workload>; target: number; stretch?: number; shape?: number };
const cases: Case[] = [
  { label: 'realistic 100k × 100k', n: 100_000, make: (n, seed) => workload(n, n / 2, seed), target: 0.2, stretch: 0.1 },
  { label: 'realistic 1M × 1M', n: 1_000_000, make: (n, seed) => workload(n, n / 2, seed), target: 2, stretch: 1 },
  { label: 'adversarial 10k × 10k', n: 10_000, make: (n, seed) => workload(n, 20, seed), target: 0.15, stretch: 0.08 },
  { label: 'adversarial 100k × 100k', n: 100_000, make: (n, seed) => workload(n, 20, seed), target: 1, stretch: 0.3 },
  { label: 'adversarial 1M × 1M', n: 1_000_000, make: (n, seed) => workload(n, 20, seed), target: 5, stretch: 2 },
];
const SHAPE_SIZES = [10_000, 100_000, 1_000_000];
shapes().forEach((shape, s) => {
  for (const n of SHAPE_SIZES) cases.push({ label: `${shape.name} ${n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`}`, n, make: (size, seed) => shapeWorkload(shape, size, seed), target: 1, shape: s });
});

const only = process.argv.indexOf('--case');
if (only < 0) {
  // Each case runs in a process of its own, so peak memory is measured per case.
  console.log(`engine: Node ${process.version} (V8 ${process.versions.v8}); names ${FIRST.length}×${LAST.length}; dates over 20 days${gc ? '' : '; run with --expose-gc for memory figures'}`);
  const { spawnSync } = await import('node:child_process');
  const seconds = new Map<string, number>();
  let lastShape = -1;
  // `--only WORD` runs the cases whose label holds WORD (for working on one).
  const filter = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as Case;
    if (filter !== undefined && !c.label.includes(filter)) continue;
    if (c.shape !== undefined && c.shape !== lastShape) {
      console.log(`shape: ${shapes()[c.shape]!.name}`);
      lastShape = c.shape;
    }
    // A shape's next size runs only if the last one projects under a minute (×12).
    const previous = c.shape !== undefined ? seconds.get(`${c.shape}:${c.n / 10}`) : undefined;
    if (previous !== undefined && (!Number.isFinite(previous) || previous * 12 > 60)) {
      console.log(`     ${c.label}: skipped (the size before ${Number.isFinite(previous) ? `took ${previous.toFixed(2)} s` : 'was skipped'})`);
      seconds.set(`${c.shape}:${c.n}`, Infinity);
      continue;
    }
    const result = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, '--case', String(i)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    process.stdout.write(result.stdout.replace(/^SECONDS .*\n/m, ''));
    if (result.status !== 0) process.exit(1);
    const measured = /^SECONDS (\S+)$/m.exec(result.stdout);
    if (c.shape !== undefined && measured) {
      const time = Number(measured[1]);
      seconds.set(`${c.shape}:${c.n}`, time);
      // Growth of CPU time: on a shared machine wall time grows with the other work too.
      if (previous !== undefined) report(`  growth ${(c.n / 10).toLocaleString('en')} → ${c.n.toLocaleString('en')} (CPU time)`, time / previous, '×', { max: 12 });
    }
  }
  process.exit(0);
}

const c = cases[Number(process.argv[only + 1])] as Case;
// The service calls the matcher in a warm process: compile its code first, on the same
// kind of data (so every branch is exercised) but with names the measured data never
// uses (an extra word), so the caches of normalised names stay cold.
const warm = c.make(5_000, 7);
for (const item of warm.requests) item.name = `${item.name} Warmup`;
for (const item of warm.transactions) item.senderName = `${item.senderName} Warmup`;
for (let round = 0; round < 20; round++) matchRequests(warm.requests, warm.transactions);
const { requests, transactions } = c.make(c.n, 42);
gc?.();
const rssBefore = process.memoryUsage().rss;
const peakBefore = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
const cpuBefore = process.cpuUsage();
const decisions = matchRequests(requests, transactions);
const seconds = (performance.now() - started) / 1000;
// CPU time beside wall time: on a shared machine the two part when other work takes the core.
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const peakGrowth = Math.max(0, process.resourceUsage().maxRSS * 1024 - Math.max(peakBefore, rssBefore));
const counts = { matched: 0, ambiguous: 0, not_found: 0, bound: 0 };
for (const d of decisions) {
  counts[d.result] += 1;
  if (d.result === 'ambiguous' && d.reason.includes('rule out a rival')) counts.bound += 1;
}
const bound = counts.bound > 0 ? `, ${counts.bound} of them past the search bound` : '';
report(`${c.label} (${counts.matched} matched, ${counts.ambiguous} ambiguous${bound}, ${counts.not_found} not found; cpu ${cpuSeconds.toFixed(2)} s)`, seconds, 's', c.shape !== undefined && c.n > 100_000 ? undefined : { max: c.target, ...(c.stretch !== undefined ? { stretch: c.stretch } : {}) });
console.log(`SECONDS ${cpuSeconds}`);
if (c.n === 1_000_000 && c.shape === undefined) report(`  ${c.label}: peak memory growth while matching`, peakGrowth / 1024 / 1024, 'MB', { max: 250 });
