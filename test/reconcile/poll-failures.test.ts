import { expect } from 'chai';
import { failureNotice, stillFailingAfterMs, streakLength } from '../../src/reconcile/poll-failures.js';
import { unreadablePollError } from '../../src/reconcile/pending-orders.js';

const HOUR = 3_600_000;
const t0 = new Date('2026-11-10T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('failed polls: when operators are told (pure)', () => {
  it('at the first failure, at 1 h, 6 h and 24 h of failing, then once a day; never twice for one milestone', () => {
    expect([0, 1, 2, 3, 4].map(stillFailingAfterMs)).to.deep.equal([HOUR, 6 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR]);
    let streak = { failures: 0, failingSince: null as Date | null, notices: 0 };
    const told: string[] = [];
    // A poll every 10 minutes for three days.
    for (let minute = 0; minute <= 3 * 24 * 60; minute += 10) {
      const now = at(minute * 60_000);
      const { notice, failingSince, notices } = failureNotice(streak, now);
      if (notice) told.push(notice.kind === 'first' ? 'first' : streakLength(notice.forMs));
      streak = { failures: streak.failures + 1, failingSince, notices };
    }
    expect(told).to.deep.equal(['first', '1 h', '6 h', '24 h', '2 d', '3 d']);
  });

  it('a streak whose polls are far apart is told once per poll, at most, however many milestones passed', () => {
    const { notice, notices } = failureNotice({ failures: 1, failingSince: t0, notices: 0 }, at(30 * HOUR));
    expect(notice).to.deep.equal({ kind: 'still', forMs: 30 * HOUR });
    expect(notices).to.equal(3);
    expect(failureNotice({ failures: 2, failingSince: t0, notices }, at(31 * HOUR)).notice).to.equal(undefined);
  });
});

describe('a poll whose items cannot be read (pure)', () => {
  const skip = (index: number, reason = 'amount is missing', externalId: string | null = null) => ({ index, externalId, reason });

  it('every item unreadable, or more than half: a failed poll, with the first reasons', () => {
    expect(unreadablePollError(1, [skip(0, 'external_id is missing; amount is missing')])).to.equal('none of the 1 item(s) listed can be read (item #1: external_id is missing; amount is missing)');
    expect(unreadablePollError(5, [skip(0), skip(1, 'currency is missing', 'X-2'), skip(2), skip(3)])).to.equal(
      '4 of the 5 items listed cannot be read (item #1: amount is missing; X-2: currency is missing; item #3: amount is missing; and 1 more)',
    );
  });

  it('half or fewer unreadable, or nothing listed: not a failed poll', () => {
    expect(unreadablePollError(4, [skip(0), skip(1)])).to.equal(undefined);
    expect(unreadablePollError(0, [])).to.equal(undefined);
    expect(unreadablePollError(3, [])).to.equal(undefined);
  });
});
