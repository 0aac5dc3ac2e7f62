import type { BankInfo } from '../bank-info.js';

/** The sandbox bank ships with the product so everything can be tried without a real bank. */
export function sandboxBankInfo(loginUrl: string): BankInfo {
  return {
    id: 'sandbox',
    code: 'sandbox',
    name: 'Sandbox Bank',
    loginUrl,
    status: 'active',
    country: 'UY',
    currencies: ['UYU', 'USD'],
    twoFactorKinds: ['numeric', 'alphanumeric'],
    driverVersion: '1.0.0',
  };
}
