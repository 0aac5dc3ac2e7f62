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
