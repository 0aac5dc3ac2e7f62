import { expect } from 'chai';
import { fingerprintAll, type BankMovement } from '../../src/domain/fingerprint.js';

const base: BankMovement = { receivedAt: new Date('2026-11-20T14:05:00Z'), amountMinor: 150000, currency: 'UYU', senderName: 'José Pérez', description: 'Transferencia', bankReference: 'R1' };

describe('transaction fingerprints', () => {
  it('two identical same-day transfers stay two', () => {
    const [a, b] = fingerprintAll([base, { ...base }], false);
    expect(a).not.to.equal(b);
  });

  it('re-reading gives the same fingerprints, in any order', () => {
    const other = { ...base, amountMinor: 100 };
    const first = fingerprintAll([base, other, { ...base }], false);
    const again = fingerprintAll([other, { ...base }, base], false);
    expect(new Set(again)).to.deep.equal(new Set(first));
  });

  it('any field of the movement changes the fingerprint', () => {
    const [reference] = fingerprintAll([base], false);
    const variants: Partial<BankMovement>[] = [{ receivedAt: new Date('2026-11-20T14:06:00Z') }, { amountMinor: 150001 }, { currency: 'USD' }, { senderName: 'Jose Perez' }, { senderName: null }, { description: 'Otro' }];
    for (const variant of variants) expect(fingerprintAll([{ ...base, ...variant }], false)[0], JSON.stringify(variant)).not.to.equal(reference);
  });

  it('uses the bank reference when the driver says references are unique', () => {
    expect(fingerprintAll([base], true)).to.deep.equal(['ref:R1']);
    expect(fingerprintAll([{ ...base, bankReference: null }], true)[0]).to.match(/^h:[0-9a-f]{32}:1$/);
  });
});
