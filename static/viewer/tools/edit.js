/**
 * Editing finished measurements as pure state: what lies under the pointer (one of
 * its points, its outline, or the inside of a selected ROI), the points after a drag
 * or a nudge, and the one-pixel step an arrow key makes on screen. Image coordinates
 * ([column, row], pixel centres at whole numbers); no DOM.
 * @module tools/edit
 */
import { kindOf } from './registry.js';

/**
 * The points a person can drag one at a time; a freehand outline has none (its many
 * vertices would only make spikes), it moves as a whole.
 * @param {{kind: string, points: number[][]}} measurement
 * @returns {number[][]}
 */
export function handles({ kind, points }) {
  return kindOf(kind).handles(points);
}

/**
 * The drawn outline as segments.
 * @param {{kind: string, points: number[][]}} measurement
 * @returns {Array<number[][]>} [a, b] pairs
 */
export function segments({ kind, points }) {
  return kindOf(kind).outline(points);
}

/** Distance from ``p`` to the segment a-b. */
export function segmentDistance(p, [a, b]) {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const squared = dx * dx + dy * dy;
  const t = squared ? Math.min(1, Math.max(0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / squared)) : 0;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function nearest(measurements, tolerance, measure) {
  let best = null;
  // Later measurements are drawn on top, so they win ties.
  measurements.forEach((m) => {
    const distance = measure(m);
    if (distance <= tolerance && (!best || distance <= best.distance)) best = { m, distance };
  });
  return best?.m || null;
}

function closestHandle(measurement, point) {
  let found = { index: -1, distance: Infinity };
  handles(measurement).forEach((h, index) => {
    const distance = Math.hypot(h[0] - point[0], h[1] - point[1]);
    if (distance < found.distance) found = { index, distance };
  });
  return found;
}

/**
 * What lies under ``point``: the nearest handle within ``tolerance``, else the nearest
 * outline, else the inside of the selected ROI.
 * @param {Array<{id: number, kind: string, points: number[][]}>} measurements drawn order
 * @param {number[]} point image point
 * @param {number} tolerance in image pixels
 * @param {{selected?: number | null, handlesOnly?: boolean}} [options]
 * @returns {{id: number, handle: number | null} | null} handle: an index into handles(),
 *   null when the whole measurement moves
 */
export function hitTest(measurements, point, tolerance, { selected = null, handlesOnly = false } = {}) {
  const byHandle = nearest(measurements, tolerance, (m) => closestHandle(m, point).distance);
  if (byHandle) {
    // A probe or text is one point: grabbing it moves it all.
    const single = byHandle.points.length === 1;
    return { id: byHandle.id, handle: single ? null : closestHandle(byHandle, point).index };
  }
  if (handlesOnly) return null;
  const byOutline = nearest(measurements, tolerance,
    (m) => Math.min(...segments(m).map((s) => segmentDistance(point, s))));
  if (byOutline) return { id: byOutline.id, handle: null };
  const roi = (m) => kindOf(m.kind).roi;
  const chosen = measurements.find((m) => m.id === selected && roi(m));
  if (chosen && roi(chosen).inside(chosen.points)(point[0], point[1])) return { id: chosen.id, handle: null };
  return null;
}

/** Every point moved by (dx, dy). */
export function moveBy(points, dx, dy) {
  return points.map(([x, y]) => [x + dx, y + dy]);
}

/**
 * The points after handle ``handle`` (an index into handles()) is dragged to ``point``.
 * @param {string} kind
 * @param {number[][]} points
 * @param {number} handle
 * @param {number[]} point
 * @returns {number[][]}
 */
export function moveHandle(kind, points, handle, point) {
  return kindOf(kind).moveHandle(points, handle, point);
}

/**
 * The points while a grabbed measurement follows the pointer.
 * @param {{kind: string, points: number[][], handle: number | null, start: number[]}} grab
 *   the measurement's points when grabbed and the image point where it was grabbed
 * @param {number[]} point the pointer now
 * @returns {number[][]}
 */
export function dragTo({ kind, points, handle, start }, point) {
  if (handle === null || handle === undefined) return moveBy(points, point[0] - start[0], point[1] - start[1]);
  return moveHandle(kind, points, handle, point);
}

/** Whether two lists of points differ. */
export function changed(before, after) {
  return before.length !== after.length
    || before.some((p, i) => p[0] !== after[i][0] || p[1] !== after[i][1]);
}

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/**
 * The image step that moves a measurement ``pixels`` image pixels the way an arrow key
 * points on screen, whatever the rotation and flips.
 * @param {number[]} matrix image-to-canvas [a, b, c, d, e, f] (math/transform.js)
 * @param {string} key KeyboardEvent.key
 * @param {number} [pixels]
 * @returns {number[] | null} [dColumn, dRow], or null for any other key
 */
export function nudgeStep(matrix, key, pixels = 1) {
  const screen = ARROWS[key];
  if (!screen) return null;
  const [a, b, c, d] = matrix;
  const det = a * d - b * c;
  if (!det) return null;
  const du = (d * screen[0] - c * screen[1]) / det;
  const dv = (a * screen[1] - b * screen[0]) / det;
  // Quarter turns and flips keep the step on one image axis.
  return Math.abs(du) >= Math.abs(dv) ? [Math.sign(du) * pixels, 0] : [0, Math.sign(dv) * pixels];
}
