import { expect } from 'chai';
import { parseDecimalToMinor, parseLocalAmountToMinor } from '../../src/domain/money.js';
import { matchRequests, WINDOW_MS, type MatchRequest, type MatchTransaction } from '../../src/reconcile/matcher.js';
import { pairTokensNeeded, PAIR_MAX } from '../../src/reconcile/name-search.js';
import { mulberry32 } from '../helpers/prng.js';

const DAY = 86_400_000;
const REGISTERED = Date.parse('2026-11-20T12:00:00Z');

function request(over: Partial<MatchRequest> = {}): MatchRequest {
  return { id: 'req', amountMinor: 150000, currency: 'UYU', name: 'José Pérez', registeredAtMs: REGISTERED, ...over };
}
function tx(id: string, over: Partial<MatchTransaction> = {}): MatchTransaction {
  return { id, amountMinor: 150000, currency: 'UYU', senderName: 'José Pérez', receivedAtMs: REGISTERED - DAY, ...over };
}
function one(req: MatchRequest, txs: MatchTransaction[]) {
  const [decision] = matchRequests([req], txs);
  return decision!;
}

describe('matcher (pure)', () => {
  const matches: [string, Partial<MatchRequest>, Partial<MatchTransaction>][] = [
    ['accents and case', { name: 'José PÉREZ' }, { senderName: 'jose perez' }],
    ['word order', { name: 'Pérez José' }, { senderName: 'JOSE PEREZ' }],
    ['company suffixes', { name: 'Comercial Ñandú S.A.' }, { senderName: 'COMERCIAL NANDU SA' }],
    ['initials', { name: 'J. Pérez' }, { senderName: 'José Pérez' }],
    ['a fuller legal name', { name: 'José Pérez' }, { senderName: 'José Luis Pérez Gómez' }],
    ['currency codes in any case', { currency: 'uyu' }, { currency: 'UYU' }],
    ['a currency code that is ASCII only once upper-cased (ſ is S)', { currency: 'USD' }, { currency: 'uſd' }],
    ['a currency code longer than 6 characters, in any case', { currency: 'Bitcoin-X' }, { currency: 'BITCOIN-x' }],
    ['a transfer after the registration', {}, { receivedAtMs: REGISTERED + 3 * DAY }],
    ['exactly 5 days before', {}, { receivedAtMs: REGISTERED - WINDOW_MS }],
  ];
  for (const [what, req, t] of matches) {
    it(`matches: ${what}`, () => expect(one(request(req), [tx('t1', t)])).to.deep.include({ result: 'matched', transactionId: 't1' }));
  }

  const misses: [string, Partial<MatchRequest>, Partial<MatchTransaction>, RegExp][] = [
    ['a near-miss first name', { name: 'Juan Pérez' }, { senderName: 'Juana Pérez' }, /sender name/],
    ['another person, same surname', { name: 'María Gómez' }, { senderName: 'Mario Gómez' }, /sender name/],
    ['a one-cent difference', {}, { amountMinor: 150001 }, /exact amount and currency/],
    ['another currency', {}, { currency: 'USD' }, /exact amount and currency/],
    ['another currency of another length', { currency: 'UY' }, { currency: 'UYU' }, /exact amount and currency/],
    ['5 days and 1 minute before', {}, { receivedAtMs: REGISTERED - WINDOW_MS - 60_000 }, /more than 5 days before/],
    ['no sender name', {}, { senderName: null }, /no transaction with this amount has a sender name like the payer/],
  ];
  for (const [what, req, t, reason] of misses) {
    it(`does not match: ${what}`, () => {
      const decision = one(request(req), [tx('t1', t)]);
      expect(decision.result).to.equal('not_found');
      expect(decision.reason).to.match(reason);
    });
  }

  it('1500, 1500.00 and "1.500,00" are the same amount', () => {
    const amounts = [parseDecimalToMinor('1500', 'UYU'), parseDecimalToMinor('1500.00', 'UYU'), parseLocalAmountToMinor('1.500,00', 'UYU', ',')];
    expect(new Set(amounts)).to.deep.equal(new Set([150000]));
    for (const amountMinor of amounts) expect(one(request({ amountMinor }), [tx('t1')]).result).to.equal('matched');
  });

  it('two equal candidates → ambiguous, with both recorded', () => {
    // Newest first.
    expect(one(request(), [tx('t1'), tx('t2', { receivedAtMs: REGISTERED })])).to.deep.include({ result: 'ambiguous', candidates: ['t2', 't1'] });
  });

  it('candidates within the margin → ambiguous; a clear best → matched', () => {
    // 1.0 against 0.95 (initial): no clear margin.
    expect(one(request({ name: 'José Pérez' }), [tx('exact'), tx('initial', { senderName: 'J. Pérez' })]).result).to.equal('ambiguous');
    // 1.0 against 0.75 (a longer name): clear.
    expect(one(request({ name: 'José Pérez' }), [tx('exact'), tx('longer', { senderName: 'José Luis Pérez Gómez' })])).to.deep.include({ result: 'matched', transactionId: 'exact' });
  });

  it('a transaction already used is not offered again (the caller passes unused ones only)', () => {
    expect(one(request(), []).result).to.equal('not_found');
  });

  it('one transaction that is the clear best of two requests → both ambiguous, none picked', () => {
    const decisions = matchRequests([request({ id: 'a' }), request({ id: 'b' })], [tx('t1')]);
    expect(decisions.map((d) => d.result)).to.deep.equal(['ambiguous', 'ambiguous']);
    expect(decisions[0]).to.deep.include({ candidates: ['t1'] });
  });

  it('matches many requests to their own transactions', () => {
    const decisions = matchRequests(
      [request({ id: 'a', name: 'Ana Ruiz' }), request({ id: 'b', name: 'Luis Vega', amountMinor: 99 }), request({ id: 'c', name: 'Ana Ruiz', currency: 'USD' })],
      [tx('t-a', { senderName: 'RUIZ ANA' }), tx('t-b', { senderName: 'Luis Vega', amountMinor: 99 }), tx('t-c', { senderName: 'Ana Ruiz', currency: 'usd' })],
    );
    expect(decisions.map((d) => (d.result === 'matched' ? d.transactionId : d.result))).to.deep.equal(['t-a', 't-b', 't-c']);
  });

  it('is deterministic: shuffled input, same decisions', () => {
    const requests = [request({ id: 'a' }), request({ id: 'b', name: 'Luis Vega' }), request({ id: 'c', name: 'Ana Ruiz' })];
    const txs = [tx('t1'), tx('t2', { senderName: 'Luis Vega' }), tx('t3', { senderName: 'Luis Vega' }), tx('t4', { senderName: 'ana ruiz' })];
    const first = matchRequests(requests, txs);
    const again = matchRequests([...requests].reverse(), [...txs].reverse());
    const byId = (ds: typeof first) => Object.fromEntries(ds.map((d) => [d.requestId, d]));
    expect(byId(again)).to.deep.equal(byId(first));
  });
});

describe('matcher: names in any script (issue #13 item 7)', () => {
  it('an order from a Danish payer is not matched with another person\'s transfer', () => {
    expect(one(request({ name: 'Søren Hansen' }), [tx('t1', { senderName: 'Steen Hansen' })]).result).to.equal('not_found');
  });
  it('the same Danish payer, written without ø, matches', () => {
    expect(one(request({ name: 'Søren Hansen' }), [tx('t1', { senderName: 'SOREN HANSEN' })])).to.deep.include({ result: 'matched', transactionId: 't1' });
  });
  it('two identical Cyrillic names match', () => {
    expect(one(request({ name: 'Иван Петров' }), [tx('t1', { senderName: 'Иван Петров' })])).to.deep.include({ result: 'matched', transactionId: 't1', score: 1 });
  });
  it('a Cyrillic name matches its transliteration; another Cyrillic name does not', () => {
    expect(one(request({ name: 'Иван Петров' }), [tx('t1', { senderName: 'IVAN PETROV' }), tx('t2', { senderName: 'Иван Сидоров' })])).to.deep.include({ result: 'matched', transactionId: 't1' });
  });
  it('two Chinese names that sound the same are not the same payer', () => {
    expect(one(request({ name: '王小明' }), [tx('t1', { senderName: '汪晓鸣' })]).result).to.equal('not_found');
  });
});

describe('matcher: pair probes of fewer words', () => {
  it('takes the pairs of as many payer words as the fewest a name reaching the floor pairs leaves (every payer length, floor and name lengths)', () => {
    // Plainly: the fewest words m any name of lo..hi words (at least m) can pair and still
    // score the floor; q words then hold two of any such name's (q = p − m + 2), else all p.
    const share = (m: number, p: number, l: number) => (m / Math.min(p, l) + m / Math.max(p, l)) / 2;
    for (let p = 2; p <= PAIR_MAX; p++) {
      for (const floor of [0.55, 0.7, 0.85, 0.9, 1]) {
        for (let lo = 2; lo <= PAIR_MAX; lo++) {
          for (let hi = lo; hi <= PAIR_MAX; hi++) {
            let fewest = 0;
            for (let m = 2; m <= p && fewest === 0; m++) for (let l = Math.max(lo, m); l <= hi; l++) if (share(m, p, l) >= floor - 1e-9) fewest = m;
            expect(pairTokensNeeded(p, floor, lo, hi), `p ${p} floor ${floor} lengths ${lo}..${hi}`).to.equal(fewest === 0 ? p : p - fewest + 2);
          }
        }
      }
    }
    expect(pairTokensNeeded(3, 0.85, 3, 4), '"María w1 w2" for 0.85: one pair').to.equal(2);
  });
});

describe('matcher: candidate lists', () => {
  it('requests that share a candidate list cannot change each other\'s', () => {
    // Two requests of one payer and amount, two equal transactions: both ambiguous, one list.
    const decisions = matchRequests([request({ id: 'a' }), request({ id: 'b' })], [tx('t1'), tx('t2')]);
    const [a, b] = decisions.map((d) => d as { result: string; candidates?: string[] });
    expect(a!.result).to.equal('ambiguous');
    expect(b!.candidates).to.deep.equal(a!.candidates);
    expect(() => a!.candidates!.push('t3')).to.throw(TypeError);
    expect(b!.candidates).to.have.members(['t1', 't2']);
  });
});

describe('matcher: bounded search (issue #17)', () => {
  it('past the search bound a request is left ambiguous, never matched', () => {
    // One amount, 3,000 different long names from a small pool of words: every name shares
    // words with every other, so ruling out a rival would mean comparing with all of them.
    const pool = Array.from({ length: 60 }, (_, k) => `w${k}x`);
    const random = mulberry32(3);
    const longName = () => Array.from({ length: 30 }, () => pool[Math.floor(random() * pool.length)]).join(' ');
    const payer = longName();
    const txs = [tx('own', { senderName: payer }), ...Array.from({ length: 3000 }, (_, k) => tx(`t${k}`, { senderName: longName() }))];
    const decision = one(request({ name: payer }), txs);
    expect(decision.result).to.equal('ambiguous');
    expect(decision.reason).to.match(/rule out a rival/);
    // With few names in the amount the same payer is matched.
    expect(one(request({ name: payer }), txs.slice(0, 20))).to.deep.include({ result: 'matched', transactionId: 'own' });
  });

  it("a word's count in one amount does not steer the search in another", () => {
    // "Comun" is in one name of amount `rare` and in 2,000 of amount `common`, where the payer's
    // other six words are in three names each: its search there reads those six first and is
    // complete (matched). Had it taken Comun for rare, as in the other amount, it would plan
    // 2,000 entries and be cut short. Both orders of the two amounts are walked.
    const word = (k: number) => `Pal${String.fromCharCode(97 + (k % 26))}${String.fromCharCode(97 + Math.floor(k / 26) % 26)}${String.fromCharCode(97 + Math.floor(k / 676))}`;
    for (const [rare, common] of [[1000, 2000], [2000, 1000]] as const) {
      const txs: MatchTransaction[] = [];
      const requests: MatchRequest[] = [request({ id: 'in-rare', amountMinor: rare, name: 'Comun Uno Dos Tres Cuatro Cinco Seis' })];
      txs.push(tx('rare-own', { amountMinor: rare, senderName: 'Comun Uno Dos Tres Cuatro Cinco Seis' }));
      for (let k = 0; k < 40; k++) txs.push(tx(`rare-${k}`, { amountMinor: rare, senderName: `${word(k)} ${word(k + 40)} ${word(k + 80)}` }));
      const payer = ['Comun', ...Array.from({ length: 6 }, (_, k) => word(5000 + k))];
      requests.push(request({ id: 'in-common', amountMinor: common, name: payer.join(' ') }));
      txs.push(tx('common-own', { amountMinor: common, senderName: payer.join(' ') }));
      // Each of the payer's six words in two more names, with no other word of the payer but Comun.
      for (let k = 0; k < 12; k++) txs.push(tx(`common-near-${k}`, { amountMinor: common, senderName: ['Comun', payer[1 + (k % 6)], ...Array.from({ length: 5 }, (_, j) => word(6000 + k * 5 + j))].join(' ') }));
      for (let k = 0; k < 2000; k++) txs.push(tx(`common-${k}`, { amountMinor: common, senderName: ['Comun', ...Array.from({ length: 6 }, (_, j) => word(100 + ((k * 6 + j) % 4000)))].join(' ') }));
      const decisions = matchRequests(requests, txs);
      expect(decisions[0], `rare ${rare}`).to.deep.include({ result: 'matched', transactionId: 'rare-own' });
      expect(decisions[1], `common ${common}`).to.deep.include({ result: 'matched', transactionId: 'common-own' });
    }
  });
});

describe('matcher: a reference beats a name (SPEC §4)', () => {
  const order = (over: Partial<MatchRequest> = {}) => request({ id: 'req', externalId: 'O-1042', name: 'Juan Estudiante', ...over });
  const cases: [string, Partial<MatchTransaction>, 'matched' | 'not_found'][] = [
    ['the id in the remittance text, another payer (a parent paying)', { senderName: 'María González', reference: 'Pago O-1042 matrícula' }, 'matched'],
    ['the id in any case', { senderName: 'María González', reference: 'pago o-1042' }, 'matched'],
    ['the id between punctuation', { senderName: 'ACME SA', reference: 'REF:O-1042/2026' }, 'matched'],
    ['a longer token that ends with the id', { senderName: 'María González', reference: 'XO-1042' }, 'not_found'],
    ['a longer token that begins with the id', { senderName: 'María González', reference: 'Pago O-10421' }, 'not_found'],
    ['the id with another amount', { senderName: 'María González', reference: 'Pago O-1042', amountMinor: 150001 }, 'not_found'],
    ['the id with another currency', { senderName: 'María González', reference: 'Pago O-1042', currency: 'USD' }, 'not_found'],
    ['the id, more than 5 days before', { senderName: 'María González', reference: 'Pago O-1042', receivedAtMs: REGISTERED - WINDOW_MS - 60_000 }, 'not_found'],
  ];
  for (const [what, t, result] of cases) {
    it(`${result === 'matched' ? 'matches' : 'does not match'}: ${what}`, () => expect(one(order(), [tx('t1', t)]).result).to.equal(result));
  }

  it('the reference wins over a weaker name, and records its evidence', () => {
    const decision = one(order({ name: 'José Pérez' }), [tx('by-name', { senderName: 'J. Pérez' }), tx('by-ref', { senderName: 'Empresa del Padre SRL', reference: 'Cuota O-1042' })]);
    expect(decision).to.deep.include({ result: 'matched', transactionId: 'by-ref', evidence: { reference: 'O-1042', nameScore: 0 } });
    expect(decision.reason).to.equal("reference O-1042 in the transaction's reference text (name score 0.00)");
  });

  it('the transaction a reference claimed is not offered to another request by name', () => {
    const decisions = matchRequests([order(), request({ id: 'other', externalId: 'O-7', name: 'María González' })], [tx('t1', { senderName: 'María González', reference: 'Pago O-1042' })]);
    expect(decisions.map((d) => d.result)).to.deep.equal(['matched', 'not_found']);
  });

  it('one movement referencing two requests → both ambiguous, none picked', () => {
    const decisions = matchRequests([order(), request({ id: 'req2', externalId: 'O-1043' })], [tx('t1', { senderName: 'María González', reference: 'O-1042 y O-1043' })]);
    for (const d of decisions) expect(d).to.deep.include({ result: 'ambiguous', candidates: ['t1'] });
    expect(decisions[0]!.reason).to.equal("the transaction's reference names 2 requests (O-1042, O-1043)");
  });

  it('a request referenced by two movements → ambiguous, newest first', () => {
    const decision = one(order(), [tx('older', { reference: 'O-1042', receivedAtMs: REGISTERED - DAY }), tx('newer', { reference: 'O-1042', receivedAtMs: REGISTERED })]);
    expect(decision).to.deep.include({ result: 'ambiguous', candidates: ['newer', 'older'], reason: '2 transactions reference O-1042' });
  });

  it('without references every decision is the name rule\'s, with its name score as evidence', () => {
    const decision = one(request({ externalId: 'O-1042', name: 'J. Pérez' }), [tx('t1', { senderName: 'José Pérez', reference: null })]);
    expect(decision).to.deep.include({ result: 'matched', transactionId: 't1', evidence: { reference: null, nameScore: 0.95 } });
    expect(one(request({ externalId: 'O-1042' }), [tx('t1', { senderName: 'Ana Ruiz' })])).to.deep.include({ result: 'not_found', evidence: { reference: null, nameScore: null } });
  });
});

describe('matcher reasons', () => {
  it('says when the best name is close but below the minimum', () => {
    // "Juan Pérez" against six words holding both: (2/2 + 2/6) / 2 ≈ 0.67, between the floor and the minimum.
    const [decision] = matchRequests([request({ name: 'Juan Pérez' })], [tx('t1', { senderName: 'Juan Carlos Pérez Gómez Ruiz Díaz' })]);
    expect(decision).to.deep.include({ result: 'not_found', reason: 'sender names do not match the payer well enough (best 0.67 < 0.7)' });
  });
});

describe('matcher reasons: counts of 1000 and more', () => {
  it('each request states its own count, equal counts the same text, in call after call', () => {
    for (const [size, step] of [[1500, 60_000], [1200, 90_000]] as const) {
      // One payer and amount; transactions a step apart, requests registered along them, so
      // that each sees the transactions received from its window's start on.
      const transactions = Array.from({ length: size }, (_, k) => tx(`t${k}`, { receivedAtMs: REGISTERED + k * step }));
      const requests = Array.from({ length: 40 }, (_, q) => request({ id: `r${q}`, registeredAtMs: REGISTERED + WINDOW_MS + Math.floor(q / 2) * 7 * step }));
      const decisions = matchRequests(requests, transactions);
      decisions.forEach((decision, q) => {
        const from = (requests[q] as MatchRequest).registeredAtMs - WINDOW_MS;
        const inWindow = transactions.filter((t) => t.receivedAtMs >= from).length;
        expect(inWindow).to.be.at.least(1000);
        expect(decision).to.deep.include({ result: 'ambiguous', reason: `${inWindow} transactions are equally plausible` });
      });
    }
  });
});
