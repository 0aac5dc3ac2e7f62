import { expect } from 'chai';
import type { RawTransaction, ReadPass } from '../../src/banks/driver.js';
import { sameMovements } from '../../src/domain/fingerprint.js';
import { SessionFailure } from '../../src/domain/session-outcome.js';
import { MAX_READ_PASSES, readUntilStable } from '../../src/sessions/stable-read.js';
import { mulberry32 } from '../helpers/prng.js';

/**
 * Pure model of a bank that pages its list by position (newest first), with movements
 * arriving between page requests: at the top (new) or anywhere (booked late, back-dated).
 * The sandbox bank does the same for real in test/sessions/exactly-once.test.ts.
 */
function pagedBank(initial: RawTransaction[], pageSize: number) {
  const list = [...initial];
  let betweenPages: (() => void) | undefined;
  return {
    list,
    arriveBetweenPages(hook: () => void) {
      betweenPages = hook;
    },
    async pass(): Promise<ReadPass> {
      const transactions: RawTransaction[] = [];
      let pages = 0;
      for (let offset = 0; ; offset += pageSize) {
        if (pages > 0) betweenPages?.();
        pages += 1;
        transactions.push(...list.slice(offset, offset + pageSize));
        if (offset + pageSize >= list.length) return { transactions, pages };
      }
    },
  };
}

let serial = 0;
function movement(tag: string): RawTransaction {
  serial += 1;
  return { receivedAt: new Date(Date.UTC(2026, 10, 20, 12, serial % 60)), printedAt: `2026-11-20T09:${String(serial % 60).padStart(2, '0')}`, amountMinor: 100 + serial, currency: 'UYU', senderName: tag, description: `Transferencia ${serial}`, bankReference: null };
}

describe('stable reads against movements arriving mid-read (pure model of a position-paged bank)', () => {
  it('root cause: one pass over pages reads a row twice when a movement arrives between pages', async () => {
    const bank = pagedBank(Array.from({ length: 30 }, () => movement('old')), 25);
    let once = true;
    bank.arriveBetweenPages(() => once && (bank.list.unshift(movement('new')), (once = false)));
    const { transactions } = await bank.pass();
    expect(transactions).to.have.length(31);
    expect(new Set(transactions).size, 'a row read twice').to.equal(30);
    expect(transactions.some((t) => t.senderName === 'new'), 'and the arrival missed').to.equal(false);
  });

  it('a read of one page is a snapshot: one pass', async () => {
    const bank = pagedBank(Array.from({ length: 10 }, () => movement('old')), 25);
    let passes = 0;
    const read = await readUntilStable(() => ((passes += 1), bank.pass()));
    expect([read.passes, passes, read.transactions.length]).to.deep.equal([1, 1, 10]);
  });

  it('an unchanging list of several pages costs two passes', async () => {
    const bank = pagedBank(Array.from({ length: 60 }, () => movement('old')), 25);
    const read = await readUntilStable(() => bank.pass());
    expect(read.passes).to.equal(2);
    expect(sameMovements(read.transactions, bank.list)).to.equal(true);
  });

  it('property: whatever arrives between pages, the read is the list as it stood at one moment, each movement once', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = mulberry32(seed);
      const pageSize = 1 + Math.floor(random() * 6);
      // Identical transfers (same printed content) exist: multiplicity must be right too.
      const twin = movement('twin');
      const initial = Array.from({ length: Math.floor(random() * 30) }, () => (random() < 0.15 ? { ...twin } : movement('old')));
      const bank = pagedBank(initial, pageSize);
      // Arrivals for the first few page turns only, as a real bank's come in bursts.
      let turns = Math.floor(random() * 8);
      const snapshots: RawTransaction[][] = [];
      bank.arriveBetweenPages(() => {
        if (turns-- <= 0) return;
        const count = 1 + Math.floor(random() * 2);
        for (let i = 0; i < count; i++) {
          const arrival = random() < 0.2 ? { ...twin } : movement('new');
          const at = random() < 0.5 ? 0 : Math.floor(random() * (bank.list.length + 1));
          bank.list.splice(at, 0, arrival);
        }
      });
      const read = await readUntilStable(async () => {
        snapshots.push([...bank.list]);
        return bank.pass();
      }, 50);
      const matching = snapshots.some((snapshot) => sameMovements(snapshot, read.transactions));
      expect(matching, `seed ${seed}: the read is no snapshot of the list (${read.transactions.length} rows, passes ${read.passes})`).to.equal(true);
    }
  });

  it('a list that keeps changing fails the read (read_unstable, transient) instead of storing a torn one', async () => {
    const bank = pagedBank(Array.from({ length: 30 }, () => movement('old')), 25);
    bank.arriveBetweenPages(() => bank.list.unshift(movement('new')));
    let passes = 0;
    try {
      await readUntilStable(() => ((passes += 1), bank.pass()));
      expect.fail('should fail');
    } catch (error) {
      expect(error).to.be.instanceOf(SessionFailure);
      expect(error).to.deep.include({ kind: 'read_unstable', stage: 'read', fatal: false });
    }
    expect(passes).to.equal(MAX_READ_PASSES);
  });
});
