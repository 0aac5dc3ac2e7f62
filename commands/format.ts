import { z } from 'zod';

/** Small helpers for building replies; rendering is the adapters' job. */

export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '(not set)';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

export function bullet(lines: string[]): string {
  return lines.map((line) => `• ${line}`).join('\n');
}

/** The `<name>` argument naming an account, shared by every account command. */
export const accountRef = z.string({ error: 'the account name is required' }).min(1, 'the account name is required');
