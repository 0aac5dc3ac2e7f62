/**
 * Text longer than a platform allows, split at line breaks (inside a line only when the line
 * alone is too long), never cut. `cutAt` may move a forced cut earlier (Telegram keeps HTML
 * entities whole).
 */
export function splitAtLines(text: string, limit: number, cutAt: (rest: string, cut: number) => number = (_rest, cut) => cut): string[] {
  if (text.length <= limit) return [text];
  const pieces: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= limit) {
      current = candidate;
      continue;
    }
    if (current !== '') pieces.push(current);
    let rest = line;
    while (rest.length > limit) {
      const cut = cutAt(rest, limit);
      pieces.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    current = rest;
  }
  if (current !== '') pieces.push(current);
  return pieces;
}
