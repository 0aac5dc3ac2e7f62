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
  return { ...info, loginUrl: entry.loginUrl, status: 'active' };
}

export function createBankRegistry(entries: BankEntry[]): BankRegistry {
  // A driver with a wrong zone would date every movement wrongly: refuse it at start-up.
  for (const entry of entries) {
    const problem = timeZoneProblem(entry.driver.info.timeZone);
    if (problem) throw new Error(`bank driver ${entry.driver.info.id}: ${problem}`);
  }
  const find = (idOrCode: string) => {
    const wanted = idOrCode.trim().toLowerCase();
    return entries.find((e) => e.driver.info.id.toLowerCase() === wanted || e.driver.info.code.toLowerCase() === wanted);
  };
  return {
    list: () => entries.map(infoOf),
    find(idOrCode) {
      const entry = find(idOrCode);
      return entry ? infoOf(entry) : undefined;
    },
    driverFor(code) {
      const entry = find(code);
      return entry ? { driver: entry.driver, baseUrl: new URL(entry.loginUrl).origin } : undefined;
    },
  };
}
