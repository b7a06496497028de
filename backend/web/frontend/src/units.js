// Exact amounts: integer base units (decimal strings, as the API sends them) <-> text, by string arithmetic.
// No Number ever holds an amount, so nothing rounds: "123456789012345678" with 8 decimals prints every digit.

const DIGITS = /^\d+$/;
const DECIMAL = /^(\d*)(?:\.(\d*))?$/;
export const U64_MAX = '18446744073709551615';

/** Compare two non-negative decimal integer strings: -1, 0 or 1. */
export function cmpUnits(a, b) {
  const x = strip(String(a));
  const y = strip(String(b));
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
}

function strip(s) {
  const t = s.replace(/^0+(?=\d)/, '');
  return t === '' ? '0' : t;
}

/** Group the digits of a whole number by thousands: "1234567" -> "1,234,567". */
export function group(whole) {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Base units -> decimal text with the mint's decimals, trailing zeros trimmed ("1250000000", 8 -> "12.5").
 * @param {string|bigint|number} units an integer (a Number only if it is a safe integer)
 * @param {number} decimals
 * @param {{group?: boolean}} [opts] group the whole part by thousands (default true)
 */
export function formatUnits(units, decimals, { group: grouped = true } = {}) {
  if (typeof units === 'number' && !Number.isSafeInteger(units)) throw new TypeError(`inexact amount ${units}`);
  let s = String(units).trim();
  let negative = false;
  if (s.startsWith('-')) {
    negative = true;
    s = s.slice(1);
  }
  if (!DIGITS.test(s)) throw new TypeError(`not an integer amount: ${units}`);
  s = strip(s);
  let whole = s;
  let frac = '';
  if (decimals > 0) {
    const padded = s.padStart(decimals + 1, '0');
    whole = padded.slice(0, -decimals);
    frac = padded.slice(-decimals).replace(/0+$/, '');
  }
  const text = (grouped ? group(whole) : whole) + (frac ? `.${frac}` : '');
  return negative && text !== '0' ? `-${text}` : text;
}

export class AmountError extends Error {}

/**
 * Decimal text -> base units (a string), exactly; more decimals than the mint has is an error, never a rounding.
 * Thousands separators and spaces are ignored ("1,000.5"). Refuses negatives and amounts above u64.
 */
export function parseUnits(text, decimals) {
  const t = String(text).trim().replace(/[,\s_]/g, '');
  const m = DECIMAL.exec(t);
  if (!t || !m || (m[1] === '' && (m[2] ?? '') === '')) throw new AmountError(`"${text}" is not an amount`);
  const whole = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new AmountError(`at most ${decimals} decimal places`);
  const units = strip(whole + frac.padEnd(decimals, '0'));
  if (cmpUnits(units, U64_MAX) > 0) throw new AmountError('too large for a token amount');
  return units;
}

/** Basis points -> percent text, exact ("500" -> "5%", 1050 -> "10.5%"). */
export function formatBps(bps) {
  if (bps === null || bps === undefined) return '—';
  return `${formatUnits(String(bps), 2, { group: false })}%`;
}

/** Percent text -> basis points (an integer string), exact; at most two decimals. */
export function parseBps(text) {
  const units = parseUnits(text, 2);
  if (cmpUnits(units, '10000') > 0) throw new AmountError('at most 100%');
  return units;
}

/** Sum of integer strings (BigInt: exact integers, never floating point). */
export function sumUnits(values) {
  let total = 0n;
  for (const v of values) total += BigInt(v ?? 0);
  return total.toString();
}

/** a / b as a fraction 0..1 for drawing (bar widths), never for money; 0 when b is 0. */
export function ratio(a, b) {
  const x = BigInt(a ?? 0);
  const y = BigInt(b ?? 0);
  if (y <= 0n || x <= 0n) return 0;
  return Number((x * 10000n) / y) / 10000;
}
