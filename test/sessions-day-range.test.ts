import { expect } from 'chai';
import { addDays, localDay, readRange } from '../src/sessions/day-range.js';

describe('read ranges', () => {
  it('uses the bank local day', () => {
    expect(localDay(new Date('2026-11-26T02:00:00Z'), 'America/Montevideo')).to.equal('2026-11-25');
    expect(localDay(new Date('2026-11-26T03:00:00Z'), 'America/Montevideo')).to.equal('2026-11-26');
  });

  it('reads back from the last day read, always including the previous day', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    expect(readRange(now, 'America/Montevideo', null, 3)).to.deep.equal({ from: '2026-11-23', to: '2026-11-26' });
    expect(readRange(now, 'America/Montevideo', '2026-11-26', 0)).to.deep.equal({ from: '2026-11-25', to: '2026-11-26' });
    expect(readRange(now, 'America/Montevideo', '2026-11-20', 2)).to.deep.equal({ from: '2026-11-18', to: '2026-11-26' });
  });

  it("follows the zone's daylight saving: the local day turns at midnight in summer and in winter", () => {
    // Madrid: UTC+2 in July, UTC+1 in December.
    expect(localDay(new Date('2026-07-15T21:59:00Z'), 'Europe/Madrid')).to.equal('2026-07-15');
    expect(localDay(new Date('2026-07-15T22:00:00Z'), 'Europe/Madrid')).to.equal('2026-07-16');
    expect(localDay(new Date('2026-12-15T22:59:00Z'), 'Europe/Madrid')).to.equal('2026-12-15');
    expect(localDay(new Date('2026-12-15T23:00:00Z'), 'Europe/Madrid')).to.equal('2026-12-16');
  });

  it('adds days across month ends', () => {
    expect(addDays('2026-03-01', -1)).to.equal('2026-02-28');
    expect(addDays('2026-12-31', 1)).to.equal('2027-01-01');
  });
});
