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
