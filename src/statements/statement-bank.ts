import type { BankInfo } from '../banks/bank-info.js';

/** The built-in bank whose accounts are read from statement files instead of a portal. */
export const STATEMENT_BANK_CODE = 'statement';

export const STATEMENT_BANK: BankInfo = {
  id: STATEMENT_BANK_CODE,
  code: STATEMENT_BANK_CODE,
  name: 'Bank statement files (camt.052/053/054, MT940/MT942, OFX/QFX, CSV)',
  loginUrl: '',
  status: 'active',
  source: 'statement',
  country: 'any',
  currencies: ['any'],
  twoFactorKinds: [],
  driverVersion: '1',
};
