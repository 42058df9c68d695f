/**
 * Viewport grid layouts ("1x1", "2x2", or any rows x columns up to 4x4). Pure.
 * @module math/layout
 */

export const LAYOUTS = Object.freeze(['1x1', '1x2', '2x1', '2x2', '3x3']);

/**
 * The layouts the menu offers: the usual ones and, where another is on screen (a
 * protocol's 1x3, a custom 4x4), that one too, in order of size, so the menu never
 * names a layout that is not shown.
 * @param {string} current the layout on screen, "RxC"
 * @returns {string[]}
 */
export function layoutChoices(current) {
  const shown = parseLayout(current);
  if (!shown) return [...LAYOUTS];
  const name = `${shown.rows}x${shown.columns}`;
  if (LAYOUTS.includes(name)) return [...LAYOUTS];
  const size = (text) => { const { rows, columns } = parseLayout(text); return [rows * columns, rows]; };
  return [...LAYOUTS, name].sort((a, b) => {
    const [sa, ra] = size(a);
    const [sb, rb] = size(b);
    return sa - sb || ra - rb;
  });
}

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
