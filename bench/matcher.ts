import { matchRequests, type MatchRequest, type MatchTransaction } from '../src/reconcile/matcher.js';
import { report } from './lib/report.js';
import { mulberry32 } from '../test/helpers/prng.js';

/**
 * Matcher throughput (SPEC §8): inputs in memory, no database. Seeded 32-bit PRNG
 * (mulberry32), payer names from 60 first names × 60 surnames, dates over 20 days, one
 * currency, amounts uniform over A distinct values: realistic A = N/2, adversarial A = 20.
 * 70 % of transactions pay one of the requests (same amount and name, a few days around).
 */
const FIRST = ['José', 'María', 'Juan', 'Ana', 'Luis', 'Lucía', 'Carlos', 'Sofía', 'Diego', 'Valentina', 'Martín', 'Camila', 'Pablo', 'Julia', 'Andrés', 'Elena', 'Jorge', 'Paula', 'Miguel', 'Laura', 'Fernando', 'Clara', 'Ricardo', 'Inés', 'Tomás', 'Rosa', 'Hugo', 'Marta', 'Raúl', 'Noelia', 'Gustavo', 'Silvia', 'Sergio', 'Beatriz', 'Álvaro', 'Teresa', 'Emilio', 'Gabriela', 'Rafael', 'Lorena', 'Nicolás', 'Florencia', 'Gonzalo', 'Mercedes', 'Federico', 'Carolina', 'Matías', 'Verónica', 'Ignacio', 'Natalia', 'Bruno', 'Agustina', 'Rodrigo', 'Mónica', 'Esteban', 'Daniela', 'Facundo', 'Cecilia', 'Joaquín', 'Patricia'];
const LAST = ['Pérez', 'González', 'Rodríguez', 'Fernández', 'López', 'Martínez', 'Gómez', 'Díaz', 'Sánchez', 'Romero', 'Sosa', 'Álvarez', 'Torres', 'Ruiz', 'Ramírez', 'Flores', 'Acosta', 'Benítez', 'Medina', 'Suárez', 'Herrera', 'Aguirre', 'Pereira', 'Gutiérrez', 'Giménez', 'Molina', 'Silva', 'Castro', 'Rojas', 'Ortiz', 'Núñez', 'Luna', 'Juárez', 'Cabrera', 'Ríos', 'Ferreira', 'Godoy', 'Morales', 'Domínguez', 'Moreno', 'Peralta', 'Vega', 'Carrizo', 'Quiroga', 'Castillo', 'Ledesma', 'Muñoz', 'Ojeda', 'Ponce', 'Vera', 'Vázquez', 'Villalba', 'Cardozo', 'Navarro', 'Ramos', 'Arias', 'Coronel', 'Córdoba', 'Figueroa', 'Correa'];

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

/**
 * As records arrive from the database or JSON, every name is a flat string of its own (a
 * template literal leaves a rope the timed part would pay to flatten, which real data never
 * asks). Done per string, so no second copy of the data raises the memory peak.
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!process.argv.includes('--case')) console.log(`engine: Node ${process.version} (V8 ${process.versions.v8}); one currency; names ${FIRST.length}×${LAST.length}; dates over 20 days${gc ? '' : '; run with --expose-gc for memory figures'}`);

const cases: { label: string; n: number; amounts: (n: number) => number; target: number; stretch: number }[] = [
  { label: 'realistic 100k × 100k', n: 100_000, amounts: (n) => n / 2, target: 0.2, stretch: 0.1 },
  { label: 'realistic 1M × 1M', n: 1_000_000, amounts: (n) => n / 2, target: 2, stretch: 1 },
  { label: 'adversarial 10k × 10k', n: 10_000, amounts: () => 20, target: 0.15, stretch: 0.08 },
  { label: 'adversarial 100k × 100k', n: 100_000, amounts: () => 20, target: 1, stretch: 0.3 },
  { label: 'adversarial 1M × 1M', n: 1_000_000, amounts: () => 20, target: 5, stretch: 2 },
];

// Each case runs in a process of its own, so peak memory is measured per case.
const only = process.argv.indexOf('--case');
if (only < 0) {
  const { spawnSync } = await import('node:child_process');
  for (let i = 0; i < cases.length; i++) {
    const result = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, '--case', String(i)], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(1);
  }
  process.exit(0);
}
for (const c of [cases[Number(process.argv[only + 1])]!]) {
  // The service calls the matcher in a warm process: compile its code first, on the same
  // kind of data (so every branch is exercised) but with names the measured data never
  // uses (an extra word), so the caches of normalised names stay cold.
  const warm = workload(5_000, c.amounts(5_000), 7);
  for (const item of warm.requests) item.name = `${item.name} Warmup`;
  for (const item of warm.transactions) item.senderName = `${item.senderName} Warmup`;
  for (let round = 0; round < 20; round++) matchRequests(warm.requests, warm.transactions);
  const { requests, transactions } = workload(c.n, c.amounts(c.n), 42);
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  const decisions = matchRequests(requests, transactions);
  const seconds = (performance.now() - started) / 1000;
  const peakGrowth = Math.max(0, process.resourceUsage().maxRSS * 1024 - Math.max(peakBefore, rssBefore));
  const counts = { matched: 0, ambiguous: 0, not_found: 0 };
  for (const d of decisions) counts[d.result] += 1;
  report(`${c.label} (${counts.matched} matched, ${counts.ambiguous} ambiguous, ${counts.not_found} not found)`, seconds, 's', { max: c.target, stretch: c.stretch });
  if (c.n === 1_000_000) report(`  ${c.label}: peak memory growth while matching`, peakGrowth / 1024 / 1024, 'MB', { max: 250 });
}
