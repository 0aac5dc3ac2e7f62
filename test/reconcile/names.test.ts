import { expect } from 'chai';
import { MIN_SCORE, nameTokens, scoreNames } from '../../src/reconcile/names.js';

describe('payer name scoring', () => {
  it('normalises accents, case, punctuation, abbreviations and company suffixes', () => {
    expect(nameTokens('  José  PÉREZ-Gómez ')).to.deep.equal(['gomez', 'jose', 'perez']);
    expect(nameTokens('Comercial Ñandú S.A.')).to.deep.equal(['comercial', 'nandu']);
    expect(nameTokens('S.R.L.')).to.deep.equal(['srl']);
    expect(nameTokens(null)).to.deep.equal([]);
  });

  const same: [string, string][] = [
    ['José PÉREZ', 'jose perez'],
    ['Pérez, José', 'José Pérez'],
    ['ACME S.A.', 'Acme SA'],
    ['Acme Inc.', 'ACME'],
    ['ACME LTDA', 'acme srl'],
  ];
  for (const [a, b] of same) it(`"${a}" = "${b}"`, () => expect(scoreNames(a, b)).to.equal(1));

  const close: [string, string, number][] = [
    ['J. Pérez', 'Juan Pérez', 0.95],
    ['Juan Pérez', 'Juan Carlos Pérez Gómez', 0.75],
    ['Juan P', 'Juan Pérez', 0.95],
    ['Juan Pérez', 'Juan Carlos Pérez', 5 / 6],
  ];
  for (const [a, b, expected] of close) {
    it(`"${a}" ~ "${b}" scores ${expected}, above the minimum`, () => {
      expect(scoreNames(a, b)).to.be.closeTo(expected, 1e-9);
      expect(scoreNames(a, b)).to.be.at.least(MIN_SCORE);
    });
  }

  const different: [string, string][] = [
    ['Juan Pérez', 'Juana Pérez'],
    ['María Gómez', 'Mario Gómez'],
    ['Juan Pérez', 'Pedro Pérez'],
    ['Juan Pérez', 'J. Martínez'],
    ['ACME S.A.', 'ACME Holdings Uruguay Ltda Group'],
    ['Juan Pérez', ''],
  ];
  for (const [a, b] of different) it(`"${a}" is not "${b}"`, () => expect(scoreNames(a, b)).to.be.below(MIN_SCORE));

  it('is symmetric', () => {
    expect(scoreNames('J. Pérez', 'Juan Pérez')).to.equal(scoreNames('Juan Pérez', 'J. Pérez'));
  });
});
