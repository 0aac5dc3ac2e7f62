import { expect } from 'chai';
import { currencyDecimals, minorToDecimalString, minorToNumber, parseDecimalToMinor, parseLocalAmountToMinor } from '../../src/domain/money.js';

describe('money', () => {
  it('knows currency decimals', () => {
    expect(currencyDecimals('UYU')).to.equal(2);
    expect(currencyDecimals('usd')).to.equal(2);
    expect(currencyDecimals('JPY')).to.equal(0);
    expect(currencyDecimals('KWD')).to.equal(3);
  });

  const decimals: [string, string, number | undefined][] = [
    ['1500', 'UYU', 150000],
    ['1500.00', 'UYU', 150000],
    ['1500.5', 'UYU', 150050],
    ['0.01', 'USD', 1],
    ['-12.30', 'USD', -1230],
    ['1500.001', 'UYU', undefined],
    ['1500.000', 'UYU', 150000],
    ['15e2', 'UYU', undefined],
    ['1,500.00', 'UYU', undefined],
    ['', 'UYU', undefined],
    ['1500', 'JPY', 1500],
    ['1500.5', 'JPY', undefined],
  ];
  for (const [text, currency, expected] of decimals) {
    it(`decimal "${text}" ${currency} → ${expected}`, () => expect(parseDecimalToMinor(text, currency)).to.equal(expected));
  }

  const local: [string, ',' | '.', number | undefined][] = [
    ['1.500,00', ',', 150000],
    ['1500,00', ',', 150000],
    ['-200,50', ',', -20050],
    ['1 234 567,89', ',', 123456789],
    ['12.345.678,9', ',', 1234567890],
    ['(75,00)', ',', -7500],
    ['1,500.00', '.', 150000],
    ['1.50.00', ',', undefined],
    ['1.500,001', ',', undefined],
    ['abc', ',', undefined],
  ];
  for (const [text, separator, expected] of local) {
    it(`local "${text}" (decimal ${separator}) → ${expected}`, () => expect(parseLocalAmountToMinor(text, 'UYU', separator)).to.equal(expected));
  }

  it('formats minor units for the API and webhooks', () => {
    expect(minorToDecimalString(150000, 'UYU')).to.equal('1500.00');
    expect(minorToDecimalString(-5, 'USD')).to.equal('-0.05');
    expect(minorToDecimalString(1500, 'JPY')).to.equal('1500');
    expect(minorToNumber(150050, 'UYU')).to.equal(1500.5);
  });
});
