import type { ImportSummary, StatementPreview } from './import-service.js';
import { minorToDecimalString } from '../domain/money.js';

const FORMAT_NAMES = { camt: 'camt', mt940: 'MT940', ofx: 'OFX', csv: 'CSV' } as const;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One message saying what an import did (the same words in every chat and in the folder's log). */
export function importSummaryText(s: ImportSummary): string {
  const file = s.fileName ? `${s.fileName} ` : '';
  const lines = [
    `Statement ${file}imported into "${s.accountName}" (${FORMAT_NAMES[s.format]}, ${s.encoding}): ${plural(s.entriesRead, 'entry', 'entries')} read, ` +
      `${plural(s.creditsStored, 'credit')} stored, ${plural(s.duplicatesSkipped, 'duplicate')} skipped, ${plural(s.debitsIgnored, 'debit')} ignored` +
      `${s.reversalsIgnored ? `, ${plural(s.reversalsIgnored, 'reversal')} ignored (check them by hand)` : ''}` +
      `${s.pendingKeptApart ? `, ${s.pendingKeptApart} pending kept apart (matched once booked)` : ''}` +
      `${s.refusedCount ? `, ${s.refusedCount} refused` : ''}.`,
  ];
  if (s.importedBefore) lines.push(`This same file was imported before (${s.importedBefore.toISOString().slice(0, 16).replace('T', ' ')} UTC).`);
  if (s.refusedCount > 0) {
    lines.push('Refused:');
    for (const r of s.refused) lines.push(`• ${r.where}: ${r.reason}`);
    if (s.refusedCount > s.refused.length) lines.push(`• … and ${s.refusedCount - s.refused.length} more`);
  }
  if (s.matches.length > 0) {
    const matched = s.matches.filter((m) => m.status === 'matched').map((m) => m.externalId);
    const ambiguous = s.matches.filter((m) => m.status === 'ambiguous').map((m) => m.externalId);
    if (matched.length) lines.push(`Matched: ${matched.join(', ')}.`);
    if (ambiguous.length) lines.push(`Ambiguous: ${ambiguous.join(', ')} (see /recon pending).`);
  }
  return lines.join('\n');
}

export function previewText(p: StatementPreview): string {
  const lines = [`Preview of a statement for "${p.accountName}" (${FORMAT_NAMES[p.format]}, ${p.encoding}): ${plural(p.entriesRead, 'entry', 'entries')}, ${plural(p.refusedCount, 'refused')}. Nothing was stored.`];
  for (const e of p.sample) {
    const money = `${e.direction === 'credit' ? '+' : '-'}${minorToDecimalString(e.amountMinor, e.currency)} ${e.currency}`;
    const refs = e.references.length ? ` · ref ${e.references.join(' / ').slice(0, 80)}` : '';
    lines.push(`• ${e.where}: ${e.bookedAtText} ${money} ${e.payer ?? '(no payer)'}${refs} → ${e.outcome}`);
  }
  for (const r of p.refused) lines.push(`• ${r.where}: refused — ${r.reason}`);
  return lines.join('\n');
}
