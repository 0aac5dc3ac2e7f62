import type { BankInfo } from './bank-info.js';

export type BankRegistry = {
  list(): BankInfo[];
  /** By id or code, case-insensitively. */
  find(idOrCode: string): BankInfo | undefined;
};

export function createBankRegistry(banks: BankInfo[]): BankRegistry {
  return {
    list: () => [...banks],
    find(idOrCode) {
      const wanted = idOrCode.trim().toLowerCase();
      return banks.find((bank) => bank.id.toLowerCase() === wanted || bank.code.toLowerCase() === wanted);
    },
  };
}
