import { expect } from 'chai';
import { fingerprintAll, printedMinuteAtOffset, rekeyedFingerprint, sameMovements, type BankMovement } from '../../src/domain/fingerprint.js';

const base: BankMovement = { receivedAt: new Date('2026-11-20T14:05:00Z'), amountMinor: 150000, currency: 'UYU', senderName: 'José Pérez', description: 'Transferencia', bankReference: 'R1' };
const printed: BankMovement = { ...base, printedAt: '2026-11-20T11:05' };

describe('transaction fingerprints', () => {
  it('two identical same-day transfers stay two', () => {
    const [a, b] = fingerprintAll([printed, { ...printed }], false);
    expect(a).not.to.equal(b);
  });

  it('re-reading gives the same fingerprints, in any order', () => {
    const other = { ...printed, amountMinor: 100 };
    const first = fingerprintAll([printed, other, { ...printed }], false);
    const again = fingerprintAll([other, { ...printed }, printed], false);
    expect(new Set(again)).to.deep.equal(new Set(first));
  });

  it('any printed field of the movement changes the fingerprint', () => {
    const [reference] = fingerprintAll([printed], false);
    const variants: Partial<BankMovement>[] = [{ printedAt: '2026-11-20T11:06' }, { amountMinor: 150001 }, { currency: 'USD' }, { senderName: 'Jose Perez' }, { senderName: null }, { description: 'Otro' }];
    for (const variant of variants) expect(fingerprintAll([{ ...printed, ...variant }], false)[0], JSON.stringify(variant)).not.to.equal(reference);
  });

  it('hashes what the bank printed, not the instant: a change of zone rules never re-fingerprints a movement', () => {
    // The same printed "11:05" read under other rules (a country dropping daylight saving,
    // a driver's zone corrected): another instant, the same identity.
    const [reference] = fingerprintAll([printed], false);
    for (const receivedAt of [new Date('2026-11-20T13:05:00Z'), new Date('2026-11-20T15:05:00Z')]) expect(fingerprintAll([{ ...printed, receivedAt }], false)[0]).to.equal(reference);
    expect(reference).to.match(/^p:[0-9a-f]{32}:1$/);
  });

  it('a movement without a printed time (not from a bank driver) keeps the first scheme, unchanged', () => {
    // Computed with the code before printed times existed: stored identities of that kind still match.
    expect(fingerprintAll([base, { ...base }], false)).to.deep.equal(['h:484f251dd7ef9cd69ec5885beee8cfc7:1', 'h:484f251dd7ef9cd69ec5885beee8cfc7:2']);
  });

  it('re-keys a first-scheme fingerprint to what a read now computes, keeping its occurrence', () => {
    const legacy = fingerprintAll([base, { ...base }], false);
    const printedAt = printedMinuteAtOffset(base.receivedAt, -180);
    expect(printedAt).to.equal('2026-11-20T11:05');
    expect(legacy.map((fingerprint) => rekeyedFingerprint(fingerprint, { ...base, printedAt }))).to.deep.equal(fingerprintAll([printed, { ...printed }], false));
  });

  it('uses the bank reference when the driver says references are unique', () => {
    expect(fingerprintAll([printed], true)).to.deep.equal(['ref:R1']);
    expect(fingerprintAll([{ ...printed, bankReference: null }], true)[0]).to.match(/^p:[0-9a-f]{32}:1$/);
  });

  it('compares two reads as multisets: order aside, an extra identical transfer is a difference', () => {
    const other = { ...printed, amountMinor: 1 };
    expect(sameMovements([printed, other], [other, { ...printed }])).to.equal(true);
    expect(sameMovements([printed, other], [printed, printed])).to.equal(false);
    expect(sameMovements([printed, other], [printed, other, printed])).to.equal(false);
    expect(sameMovements([printed], [{ ...printed, bankReference: 'R2' }])).to.equal(false);
  });
});
