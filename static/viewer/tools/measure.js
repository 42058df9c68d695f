/**
 * Measurement tools as pure state: a draft grows from pointer input until its kind has
 * its points, and a finished measurement gets the label a reader sees (no DOM).
 * @module tools/measure
 */
import { kindOf } from './registry.js';

/**
 * A pointer went down at image point ``point`` with tool ``kind``.
 * @returns {{draft: object | null, done: boolean}}
 */
export function pointerDown(draft, kind, point) {
  const { draw, points: count } = kindOf(kind);
  if (draw !== 'click') return { draft: { kind, points: [point, point] }, done: false };
  if (count === 1) return { draft: { kind, points: [point] }, done: true };
  // Angle and Cobb: each press fixes a point; the last one follows the pointer.
  const points = draft ? [...draft.points.slice(0, -1), point, point] : [point, point];
  const done = points.length > count;
  return { draft: { kind, points: done ? points.slice(0, count) : points }, done };
}

/** The pointer moved to ``point``: the free end follows, a freehand outline grows. */
export function pointerMove(draft, point) {
  if (!draft) return draft;
  if (kindOf(draft.kind).draw === 'trace') {
    const last = draft.points[draft.points.length - 1];
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) < 0.75) return draft;
    return { ...draft, points: [...draft.points, point] };
  }
  return { ...draft, points: [...draft.points.slice(0, -1), point] };
}

/**
 * The pointer came up: dragged shapes end here (if they have some size).
 * @returns {{draft: object | null, done: boolean}}
 */
export function pointerUp(draft) {
  if (!draft) return { draft, done: false };
  const { draw, fewest } = kindOf(draft.kind);
  if (draw === 'drag') {
    const [a, b] = draft.points;
    if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 1) return { draft: null, done: false };
    return { draft, done: true };
  }
  if (draw === 'trace') {
    const points = draft.points.slice(1); // the first point was doubled on press
    return points.length >= fewest ? { draft: { ...draft, points }, done: true } : { draft: null, done: false };
  }
  return { draft, done: false };
}

/**
 * What a measurement says: a length in mm or px, an angle, or an ROI's area and
 * statistics in modality units (HU for CT); never a number that cannot be trusted. On
 * an image with ultrasound regions the regions decide the units (math/usregions.js).
 * @param {{kind: string, points: number[][], label?: string}} measurement
 * @param {{pixel_spacing: number[] | null, spacing_is_at_detector?: boolean,
 *   us_regions?: object[]}} geometry
 * @param {object | null} frame the image's values, for ROI statistics and the probe
 * @param {string} modality
 * @param {string} [pending] what to say in place of values the image on screen does not
 *   have yet (a reduced preview: its values are block means, not the image's)
 * @returns {string}
 */
export function labelFor(measurement, geometry, frame, modality, pending = '') {
  const { draw, points: count, label } = kindOf(measurement.kind);
  // An angle still being drawn has nothing to say yet.
  if (draw === 'click' && measurement.points.length < count) return '';
  return label(measurement, {
    spacing: geometry?.pixel_spacing || null,
    detector: Boolean(geometry?.spacing_is_at_detector),
    unit: modality === 'CT' ? ' HU' : '',
    regions: geometry?.us_regions,
    frame,
    pending,
  });
}
