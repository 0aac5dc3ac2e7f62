/** Prints one measured number beside its target, in a form that is easy to read and grep. */
export function report(name: string, measured: number, unit: string, target?: { max: number; stretch?: number } | { min: number }): void {
  const value = `${measured.toFixed(unit === 'ms' ? 1 : 2)} ${unit}`;
  const met = !target ? undefined : 'min' in target ? measured >= target.min : measured <= target.max;
  const verdict = met === undefined ? '    ' : met ? 'OK  ' : 'MISS';
  const goal = !target
    ? '(no target)'
    : 'min' in target
      ? `target ≥ ${target.min} ${unit}`
      : `target ≤ ${target.max} ${unit}${target.stretch !== undefined ? `, stretch ${target.stretch} ${unit}` : ''}`;
  console.log(`${verdict} ${name.padEnd(58)} ${value.padStart(12)}   ${goal}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}
