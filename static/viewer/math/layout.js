/**
 * Viewport grid layouts ("1x1", "2x2", or any rows x columns up to 4x4). Pure.
 * @module math/layout
 */

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
 * What a hanging shows on this screen. Wide: the hanging's own layout and viewports.
 * Narrow (a phone): the protocol's narrow layout ("1x1" unless it says another grid of
 * at most two) and every viewport in the narrow order; the first rows x columns are
 * shown, the rest are a tap away.
 * @param {{layout: string, viewports: object[],
 *   narrow?: {layout?: string, viewports?: object[]}}} hanging one entry of the page's
 *   "hangings" JSON
 * @param {boolean} narrow whether the screen is narrow
 * @returns {{layout: string, viewports: object[]}}
 */
export function forScreen(hanging, narrow) {
  if (!narrow) return { layout: hanging.layout, viewports: hanging.viewports };
  const viewports = hanging.narrow?.viewports ?? hanging.viewports;
  const shape = parseLayout(hanging.narrow?.layout);
  const fits = shape && shape.rows * shape.columns <= Math.min(2, Math.max(viewports.length, 1));
  return { layout: fits ? `${shape.rows}x${shape.columns}` : '1x1', viewports: [...viewports] };
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
