import { expect } from 'chai';
import { createBankRegistry } from '../../src/banks/registry.js';
import { sandboxDriver, sandboxDriverFor } from '../../src/banks/sandbox/driver.js';
import { instantIn, localDayIn, timeZoneProblem } from '../../src/banks/time-zone.js';

describe('bank time zones (pure)', () => {
  it('a driver declares an IANA zone: fixed offsets and unknown names are refused', () => {
    for (const zone of ['America/Montevideo', 'Europe/Madrid', 'Asia/Kolkata', 'UTC']) expect(timeZoneProblem(zone), zone).to.equal(undefined);
    for (const zone of ['UTC-3', 'GMT+1', '-03:00', '+0530', 'Etc/GMT+3']) expect(timeZoneProblem(zone), zone).to.match(/is a fixed offset; declare the bank's IANA time zone/);
    expect(timeZoneProblem('Mars/Olympus')).to.equal('"Mars/Olympus" is not an IANA time zone');
  });

  it('the registry refuses a driver with a fixed offset at start-up', () => {
    expect(() => createBankRegistry([{ driver: sandboxDriverFor('UTC-3'), loginUrl: 'http://127.0.0.1:1/' }])).to.throw('bank driver sandbox: "UTC-3" is a fixed offset');
    expect(createBankRegistry([{ driver: sandboxDriver, loginUrl: 'http://127.0.0.1:1/' }]).list()).to.have.length(1);
  });

  it("converts printed local times with the zone's rules, including the skipped and the repeated hour", () => {
    expect(instantIn('2026-03-29T01:30', 'Europe/Madrid')?.toISOString()).to.equal('2026-03-29T00:30:00.000Z'); // CET
    expect(instantIn('2026-03-29T02:30', 'Europe/Madrid')?.toISOString(), 'skipped: moved past the gap').to.equal('2026-03-29T01:30:00.000Z');
    expect(instantIn('2026-03-29T03:30', 'Europe/Madrid')?.toISOString()).to.equal('2026-03-29T01:30:00.000Z'); // CEST
    expect(instantIn('2026-10-25T02:30', 'Europe/Madrid')?.toISOString(), 'repeated: the later offset').to.equal('2026-10-25T01:30:00.000Z');
    expect(instantIn('2026-11-26', 'America/Montevideo')?.toISOString(), 'a date alone is its midnight').to.equal('2026-11-26T03:00:00.000Z');
    expect(instantIn('26/11/2026', 'America/Montevideo')).to.equal(undefined);
    expect(localDayIn(new Date('2026-10-24T22:30:00Z'), 'Europe/Madrid')).to.equal('2026-10-25');
  });
});
