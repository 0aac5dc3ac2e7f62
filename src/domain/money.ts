/**
 * Money is integer minor units inside (never floats): 1500.00 UYU is 150000.
 */

const decimalsCache = new Map<string, number>();

/** How many decimals a currency uses (ISO 4217 via Intl; 2 when unknown). */
export function currencyDecimals(currency: string): number {
  const code = currency.toUpperCase();
  let decimals = decimalsCache.get(code);
  if (decimals === undefined) {
    try {
      decimals = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      decimals = 2;
    }
    decimalsCache.set(code, decimals);
  }
  return decimals;
}

export function isCurrencyCode(text: string): boolean {
  return /^[A-Za-z]{3}$/.test(text.trim());
}

/**
 * Parses a decimal amount written with `.` as decimal separator ("1500", "1500.5", "-12.30")
 * into minor units. Returns undefined for anything else, or for more decimals than the
 * currency has (no rounding, ever).
 */
export function parseDecimalToMinor(text: string, currency: string): number | undefined {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const decimals = currencyDecimals(currency);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) return undefined;
  const minor = Number(match[2]) * 10 ** decimals + Number(fraction.padEnd(decimals, '0') || '0');
  if (!Number.isSafeInteger(minor)) return undefined;
  return match[1] ? -minor : minor;
}

/**
 * Parses an amount as a bank prints it in a locale: "1.500,00" (decimal comma, dot
 * thousands), "1,500.00" (the reverse), "-200,5", "1 500,00". The decimal separator is the
 * last of `.`/`,` followed by 1–3 digits at the end… unless that is a thousands group, so
 * the caller says which separator the bank uses.
 */
export function parseLocalAmountToMinor(text: string, currency: string, decimalSeparator: ',' | '.'): number | undefined {
  const thousands = decimalSeparator === ',' ? '.' : ',';
  const cleaned = text
    .trim()
    .replace(/[\s\u00a0\u202f]/g, '')
    .replace(/^\((.*)\)$/, '-$1');
  if (!new RegExp(`^-?[0-9${escapeForClass(thousands)}]+(${escapeForClass(decimalSeparator)}[0-9]+)?$`).test(cleaned)) return undefined;
  const [whole, fraction] = cleaned.split(decimalSeparator);
  const groups = (whole ?? '').replace('-', '').split(thousands);
  if (groups.length > 1 && groups.slice(1).some((g) => g.length !== 3)) return undefined;
  const normalised = `${cleaned.startsWith('-') ? '-' : ''}${groups.join('')}${fraction !== undefined ? `.${fraction}` : ''}`;
  return parseDecimalToMinor(normalised, currency);
}

function escapeForClass(char: string): string {
  return char === '.' ? '\\.' : char;
}

/** Minor units → the decimal number a webhook carries (1500.5 for 150050 UYU). */
export function minorToNumber(minor: number, currency: string): number {
  return minor / 10 ** currencyDecimals(currency);
}

/** Minor units → a fixed decimal string ("1500.00"), as the API shows amounts. */
export function minorToDecimalString(minor: number, currency: string): string {
  const decimals = currencyDecimals(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const whole = Math.floor(abs / 10 ** decimals);
  const fraction = decimals > 0 ? `.${String(abs % 10 ** decimals).padStart(decimals, '0')}` : '';
  return `${sign}${whole}${fraction}`;
}
