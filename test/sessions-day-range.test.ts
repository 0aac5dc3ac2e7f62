import { expect } from 'chai';
import { addDays, localDay, readRange } from '../src/sessions/day-range.js';

describe('read ranges', () => {
  it('uses the bank local day', () => {
    expect(localDay(new Date('2026-11-26T02:00:00Z'), -180)).to.equal('2026-11-25');
    expect(localDay(new Date('2026-11-26T03:00:00Z'), -180)).to.equal('2026-11-26');
  });

  it('reads back from the last day read, always including the previous day', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    expect(readRange(now, -180, null, 3)).to.deep.equal({ from: '2026-11-23', to: '2026-11-26' });
    expect(readRange(now, -180, '2026-11-26', 0)).to.deep.equal({ from: '2026-11-25', to: '2026-11-26' });
    expect(readRange(now, -180, '2026-11-20', 2)).to.deep.equal({ from: '2026-11-18', to: '2026-11-26' });
  });

  it('adds days across month ends', () => {
    expect(addDays('2026-03-01', -1)).to.equal('2026-02-28');
    expect(addDays('2026-12-31', 1)).to.equal('2027-01-01');
  });
});
