import type { MatchRequest, MatchTransaction } from '../../src/reconcile/matcher.js';
import { mulberry32 } from './prng.js';

/**
 * Input shapes of issue #17 for the matcher, seeded: n requests and n transactions; 70 % of
 * the transactions pay a request (its amount, currency and payer as the bank writes it,
 * a few days around its registration), 30 % are random. Used by bench/matcher.ts at 10k to
 * 1M and by the reference property test at small sizes (with fewer words and amounts, so
 * that names collide and amounts hold many names).
 */

export const FIRST = ['José', 'María', 'Juan', 'Ana', 'Luis', 'Lucía', 'Carlos', 'Sofía', 'Diego', 'Valentina', 'Martín', 'Camila', 'Pablo', 'Julia', 'Andrés', 'Elena', 'Jorge', 'Paula', 'Miguel', 'Laura', 'Fernando', 'Clara', 'Ricardo', 'Inés', 'Tomás', 'Rosa', 'Hugo', 'Marta', 'Raúl', 'Noelia', 'Gustavo', 'Silvia', 'Sergio', 'Beatriz', 'Álvaro', 'Teresa', 'Emilio', 'Gabriela', 'Rafael', 'Lorena', 'Nicolás', 'Florencia', 'Gonzalo', 'Mercedes', 'Federico', 'Carolina', 'Matías', 'Verónica', 'Ignacio', 'Natalia', 'Bruno', 'Agustina', 'Rodrigo', 'Mónica', 'Esteban', 'Daniela', 'Facundo', 'Cecilia', 'Joaquín', 'Patricia'];
export const LAST = ['Pérez', 'González', 'Rodríguez', 'Fernández', 'López', 'Martínez', 'Gómez', 'Díaz', 'Sánchez', 'Romero', 'Sosa', 'Álvarez', 'Torres', 'Ruiz', 'Ramírez', 'Flores', 'Acosta', 'Benítez', 'Medina', 'Suárez', 'Herrera', 'Aguirre', 'Pereira', 'Gutiérrez', 'Giménez', 'Molina', 'Silva', 'Castro', 'Rojas', 'Ortiz', 'Núñez', 'Luna', 'Juárez', 'Cabrera', 'Ríos', 'Ferreira', 'Godoy', 'Morales', 'Domínguez', 'Moreno', 'Peralta', 'Vega', 'Carrizo', 'Quiroga', 'Castillo', 'Ledesma', 'Muñoz', 'Ojeda', 'Ponce', 'Vera', 'Vázquez', 'Villalba', 'Cardozo', 'Navarro', 'Ramos', 'Arias', 'Coronel', 'Córdoba', 'Figueroa', 'Correa'];

const DAY = 86_400_000;
const START = Date.parse('2026-11-01T00:00:00Z');

/** Pseudo-words: distinct, pronounceable, from a seed. */
export function words(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'be', 'da', 'fe', 'gu', 'ha', 'jo', 'pi', 'qu', 'ze', 'xa', 'yo', 'wi'];
  const out = new Set<string>();
  while (out.size < count) {
    let word = '';
    const length = 2 + Math.floor(random() * 3);
    for (let k = 0; k < length; k++) word += syllables[Math.floor(random() * syllables.length)];
    out.add(word[0]!.toUpperCase() + word.slice(1));
  }
  return [...out];
}

export type Shape = {
  name: string;
  /** A payer's name. */
  payer: (pick: <T>(list: readonly T[]) => T, random: () => number) => string;
  /** Distinct amounts for n requests. */
  amounts: (n: number) => number;
  /** Currency codes to spread over (one by default). */
  currencies?: (n: number) => number;
};

export type ShapeSizes = { words: number; longWords: number; longLength: number };
const BENCH_SIZES: ShapeSizes = { words: 3000, longWords: 300, longLength: 30 };

/** The shapes of issue #17, and the plain three-word names for contrast. */
export function shapes(sizes: ShapeSizes = BENCH_SIZES): Shape[] {
  const pool = words(sizes.words, 11);
  const longPool = words(sizes.longWords, 13);
  const fullName = (pick: <T>(list: readonly T[]) => T) => `${pick(FIRST)} ${pick(LAST)}`;
  return [
    { name: 'one common word ("María w1 w2")', payer: (pick) => `María ${pick(pool)} ${pick(pool)}`, amounts: () => 20 },
    {
      name: 'initial and surname ("J. Pérez"), senders in full',
      payer: (pick) => {
        const first = pick(FIRST);
        return `${first[0]}. ${pick(LAST)}|${first}`;
      },
      amounts: () => 20,
    },
    {
      name: `long names (${sizes.longLength} words of ${sizes.longWords})`,
      payer: (pick) => Array.from({ length: sizes.longLength }, () => pick(longPool)).join(' '),
      amounts: () => 20,
    },
    { name: 'one amount, one name (all ambiguous)', payer: () => 'María Pérez', amounts: () => 1 },
    { name: 'amounts n/2, many currencies', payer: (pick) => fullName(pick), amounts: (n) => Math.max(1, Math.floor(n / 2)), currencies: (n) => Math.max(2, Math.floor(n / 4)) },
    { name: 'three-word names, 20 amounts (contrast)', payer: (pick) => `${pick(FIRST)} ${pick(LAST)} ${pick(LAST)}`, amounts: () => 20 },
  ];
}

function currencyCode(k: number): string {
  let code = '';
  for (let c = 0; c < 4; c++) {
    code += String.fromCharCode(65 + (k % 26));
    k = Math.floor(k / 26);
  }
  return code;
}

/**
 * n requests and n transactions of a shape. A payer written "J. Pérez|José" is the payer
 * "J. Pérez" whose bank writes "José Pérez".
 */
export function shapeWorkload(shape: Shape, n: number, seed: number, amountsOverride?: number): { requests: MatchRequest[]; transactions: MatchTransaction[] } {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  const amounts = amountsOverride ?? shape.amounts(n);
  const currencies = shape.currencies?.(n) ?? 1;
  const requests: MatchRequest[] = new Array(n);
  const written: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const [payer, first] = shape.payer(pick, random).split('|') as [string, string | undefined];
    written[i] = first === undefined ? payer : `${first} ${payer.slice(payer.indexOf(' ') + 1)}`;
    requests[i] = { id: `r${i}`, amountMinor: 1000 + Math.floor(random() * amounts), currency: currencyCode(Math.floor(random() * currencies)), name: flat(payer), registeredAtMs: START + Math.floor(random() * 20 * DAY) };
  }
  const transactions: MatchTransaction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(random() * n);
    const pays = requests[k] as MatchRequest;
    if (random() < 0.7) transactions[i] = { id: `t${i}`, amountMinor: pays.amountMinor, currency: copied(pays.currency), senderName: flat(written[k] as string), receivedAtMs: pays.registeredAtMs + Math.floor((random() * 4 - 2) * DAY) };
    else {
      const [payer, first] = shape.payer(pick, random).split('|') as [string, string | undefined];
      const sender = first === undefined ? payer : `${first} ${payer.slice(payer.indexOf(' ') + 1)}`;
      transactions[i] = { id: `t${i}`, amountMinor: 1000 + Math.floor(random() * amounts), currency: currencyCode(Math.floor(random() * currencies)), senderName: flat(sender), receivedAtMs: START + Math.floor(random() * 20 * DAY) };
    }
  }
  return { requests, transactions };
}

/**
 * As records arrive from the database or JSON, every name is a flat string of its own (a
 * template literal leaves a rope the timed part would pay to flatten, which real data never
 * asks). Done per string, so no second copy of the data raises the memory peak.
 */
export function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/**
 * A string of its own, as a currency code decoded from a stored transaction is: not the
 * request's string object (whose reads, a million of them at random places in the requests'
 * memory, cost the many-currencies shape ~0.1 s at 1M that no stored data asks), and not
 * interned either, as `flat` would leave it (JSON.parse interns strings of up to 10 characters).
 */
export function copied(text: string): string {
  const codes: number[] = new Array(text.length);
  for (let k = 0; k < text.length; k++) codes[k] = text.charCodeAt(k);
  return String.fromCharCode(...codes);
}
