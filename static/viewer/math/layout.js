/**
 * Viewport grid layouts ("1x1", "2x2", or any rows x columns up to 4x4). Pure.
 * @module math/layout
 */

export const LAYOUTS = Object.freeze(['1x1', '1x2', '2x1', '2x2', '3x3']);

/**
 * Parse "RxC" into rows and columns, or null when it is not a grid we can show.
 * @param {string} text
 * @returns {{rows: number, columns: number} | null}
 */
export function parseLayout(text) {
  const match = /^\s*([1-4])\s*[x×*]\s*([1-4])\s*$/i.exec(text || '');
  if (!match) return null;
  return { rows: Number(match[1]), columns: Number(match[2]) };
}

/**
 * Which series each viewport shows after a layout change: kept where they were,
 * new viewports take the next series not yet shown.
 * @param {string[]} current series UIDs now shown, by viewport
 * @param {string[]} available series UIDs of the study, in order
 * @param {number} count viewports in the new layout
 * @returns {string[]}
 */
export function assignSeries(current, available, count) {
  const kept = current.slice(0, count);
  const unused = available.filter((uid) => !kept.includes(uid));
  while (kept.length < count) kept.push(unused.shift() ?? available[kept.length % available.length] ?? '');
  return kept;
}
