/**
 * Measurement tools as pure state: a draft grows from pointer input until its kind has
 * its points, and a finished measurement gets the label a reader sees (no DOM).
 * @module tools/measure
 */
import { angleOf, areaOf, cobbAngle, lengthOf, roiStats } from '../math/measure.js';
import { usArea, usCalibration, usLength } from '../math/usregions.js';

export const TOOLS = ['length', 'angle', 'cobb', 'ellipse', 'rectangle', 'freehand', 'probe', 'arrow', 'text'];
const DRAGGED = new Set(['length', 'ellipse', 'rectangle', 'arrow']);
const CLICKS = { angle: 3, cobb: 4 };

/**
 * A pointer went down at image point ``point`` with tool ``kind``.
 * @returns {{draft: object | null, done: boolean}}
 */
export function pointerDown(draft, kind, point) {
  if (kind === 'probe' || kind === 'text') return { draft: { kind, points: [point] }, done: true };
  if (DRAGGED.has(kind) || kind === 'freehand') {
    return { draft: { kind, points: [point, point] }, done: false };
  }
  // Angle and Cobb: each press fixes a point; the last one follows the pointer.
  const points = draft ? [...draft.points.slice(0, -1), point, point] : [point, point];
  const done = points.length > CLICKS[kind];
  return { draft: { kind, points: done ? points.slice(0, CLICKS[kind]) : points }, done };
}

/** The pointer moved to ``point``: the free end follows, a freehand outline grows. */
export function pointerMove(draft, point) {
  if (!draft) return draft;
  if (draft.kind === 'freehand') {
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
  if (DRAGGED.has(draft.kind)) {
    const [a, b] = draft.points;
    if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 1) return { draft: null, done: false };
    return { draft, done: true };
  }
  if (draft.kind === 'freehand') {
    const points = draft.points.slice(1); // the first point was doubled on press
    return points.length >= 3 ? { draft: { ...draft, points }, done: true } : { draft: null, done: false };
  }
  return { draft, done: false };
}

function format(value, digits = 1) {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function lengthText(measure, detector) {
  return `${format(measure.value)} ${measure.unit}${measure.unit === 'mm' && detector ? ' (detector)' : ''}`;
}

/** An ultrasound length: "12.3 mm (US region)", "Δt 0.420 s · Δv 35.0 cm/s (US region)". */
function usLengthText({ values, note }) {
  const parts = values.map((v) => `${v.symbol ? `${v.symbol} ` : ''}${format(v.value, v.digits)} ${v.unit}`);
  return `${parts.join(' · ')} (${note})`;
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
 * @returns {string}
 */
export function labelFor(measurement, geometry, frame, modality) {
  const spacing = geometry?.pixel_spacing || null;
  const detector = Boolean(geometry?.spacing_is_at_detector);
  const unit = modality === 'CT' ? ' HU' : '';
  const { kind, points } = measurement;
  if (points.length < (CLICKS[kind] || 1)) return ''; // an angle still being drawn
  const regions = geometry?.us_regions;
  if (kind === 'length') {
    const us = usLength(points, regions);
    return us ? usLengthText(us) : lengthText(lengthOf(points, spacing), detector);
  }
  // Angles: a 2-D region's spacing (its pixels may not be square), else the pixels'.
  const us = usCalibration(points, regions);
  const angular = us ? us.spacing : spacing;
  if (kind === 'angle') return `${format(angleOf(points, angular))}°`;
  if (kind === 'cobb') return `Cobb ${format(cobbAngle(points, angular))}°`;
  if (kind === 'ellipse' || kind === 'rectangle' || kind === 'freehand') {
    const usSize = usArea(kind, points, regions);
    const area = usSize || areaOf(kind, points, spacing);
    const text = [usSize ? `${format(area.value)} ${area.unit} (${usSize.note})`
      : `${format(area.value)} ${area.unit}${area.unit === 'mm²' && detector ? ' (detector)' : ''}`];
    const usable = frame && frame.samples === 1;
    const stats = usable ? roiStats(frame, kind, points) : null;
    if (stats) {
      text.push(`mean ${format(stats.mean)}${unit} SD ${format(stats.sd)}`);
      text.push(`min ${format(stats.min)} max ${format(stats.max)}${unit}`);
    }
    return text.join(' · ');
  }
  if (kind === 'probe') {
    const [column, row] = points[0].map(Math.round);
    if (!frame || frame.samples !== 1 || column < 0 || row < 0 || column >= frame.columns
      || row >= frame.rows) return '';
    const stored = frame.values[row * frame.columns + column];
    return `(${column}, ${row}) stored ${stored} = ${format(stored * frame.slope + frame.intercept)}${unit}`;
  }
  return measurement.label || '';
}
