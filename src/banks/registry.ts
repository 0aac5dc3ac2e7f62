import type { BankInfo } from './bank-info.js';
import type { BankDriver } from './driver.js';
import { timeZoneProblem } from './time-zone.js';

/** A bank the service can log into: its driver and where its portal is. */
export type BankEntry = { driver: BankDriver; loginUrl: string };

export type BankRegistry = {
  list(): BankInfo[];
  /** By id or code, case-insensitively. */
  find(idOrCode: string): BankInfo | undefined;
  /** The driver of a bank and the base URL of its portal. */
  driverFor(code: string): { driver: BankDriver; baseUrl: string } | undefined;
};

function infoOf(entry: BankEntry): BankInfo {
  const { timeZone: _zone, legacyUtcOffsetMinutes: _legacy, referencesAreUnique: _refs, sessionSurvivesPageClose: _tabs, ...info } = entry.driver.info;
  return { ...info, loginUrl: entry.loginUrl, status: 'active', source: 'portal' };
}

/**
 * The banks of this service: portal banks with their drivers, and banks read without a browser
 * (statement files), listed alike but with no driver.
 */
export function createBankRegistry(entries: BankEntry[], fileBanks: BankInfo[] = []): BankRegistry {
  // A driver with a wrong zone would date every movement wrongly: refuse it at start-up.
  for (const entry of entries) {
    const problem = timeZoneProblem(entry.driver.info.timeZone);
    if (problem) throw new Error(`bank driver ${entry.driver.info.id}: ${problem}`);
  }
  const matches = (wanted: string) => (info: { id: string; code: string }) => info.id.toLowerCase() === wanted || info.code.toLowerCase() === wanted;
  const find = (idOrCode: string) => entries.find((e) => matches(idOrCode.trim().toLowerCase())(e.driver.info));
  return {
    list: () => [...entries.map(infoOf), ...fileBanks],
    find(idOrCode) {
      const entry = find(idOrCode);
      return entry ? infoOf(entry) : fileBanks.find(matches(idOrCode.trim().toLowerCase()));
    },
    driverFor(code) {
      const entry = find(code);
      return entry ? { driver: entry.driver, baseUrl: new URL(entry.loginUrl).origin } : undefined;
    },
  };
}
