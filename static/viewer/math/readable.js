/**
 * Numbers from headers rounded for reading (a computed 6.666666666666667 mm reads 6.67).
 * @module math/readable
 */

/**
 * ``value`` with three significant digits at most below 100 and whole above, trailing
 * zeros dropped; '' for what is not a finite number.
 * @param {number | string | null} value
 * @returns {string}
 */
export function readable(value) {
  const number = Number(value);
  if (value === null || value === '' || !Number.isFinite(number)) return '';
  const size = Math.abs(number);
  const digits = size >= 100 ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3;
  return String(Number(number.toFixed(digits)));
}

/**
 * ``value`` with ``digits`` decimals, a rounded-away minus dropped ("-0.0" reads "0.0");
 * '' for what is not a finite number.
 * @param {number | string | null} value
 * @param {number} [digits]
 * @returns {string}
 */
export function fixed(value, digits = 1) {
  const number = Number(value);
  if (value === null || value === '' || !Number.isFinite(number)) return '';
  const text = number.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text;
}

/**
 * ``value`` with ``digits`` significant digits, trailing zeros dropped (a zoom of
 * 0.3571 reads "0.36", 1.0833 reads "1.1"); '' for what is not a finite number.
 * @param {number | string | null} value
 * @param {number} [digits]
 * @returns {string}
 */
export function significant(value, digits = 2) {
  const number = Number(value);
  if (value === null || value === '' || !Number.isFinite(number)) return '';
  return String(Number(number.toPrecision(digits)));
}
