/**
 * Every measurement kind in one table: how it is drawn from pointer input, which of
 * its points a person drags one at a time and how such a drag moves it, its outline
 * (for hit tests) and its SVG shape, what its label says, and whether it is an ROI
 * with an area and statistics. Other modules ask this table instead of testing a
 * kind's name. Pure: shapes are element names and attributes for the viewport to make.
 * @module tools/registry
 */
import {
  angleOf, areaOf, cobbAngle, lengthOf, ROI_SHAPES, roiStats,
} from '../math/measure.js';
import { usArea, usCalibration, usLength } from '../math/usregions.js';

/**
 * @typedef {object} LabelContext what labelFor (tools/measure.js) knows of the image
 * @property {number[] | null} spacing the pixel spacing, [row, column] mm
 * @property {boolean} detector whether that spacing is at the detector
 * @property {string} unit ' HU' for CT, else ''
 * @property {object[] | undefined} regions ultrasound regions
 * @property {object | null} frame the image's values, for ROI statistics and the probe
 * @property {string} [pending] said in place of values the image on screen does not have
 *   yet (a reduced preview), '' otherwise
 */

/**
 * @typedef {object} Kind
 * @property {'drag' | 'click' | 'trace'} draw drag: pressed at one end, released at
 *   the other; click: one press a point, the last one following the pointer; trace:
 *   the pointer's path while pressed
 * @property {number | 'free'} points how many points a finished one has
 * @property {number} fewest the fewest points a finished one has
 * @property {(points: number[][]) => number[][]} handles the points a person can drag
 *   one at a time
 * @property {(points: number[][], handle: number, point: number[]) => number[][]}
 *   moveHandle the points (a copy) after handle ``handle`` is dragged to ``point``
 * @property {(points: number[][]) => Array<number[][]>} outline the drawn outline as
 *   [a, b] segments, for hit tests
 * @property {(screen: number[][]) => Array<{element: string, attributes: object}>}
 *   shape the SVG elements that draw it from its points on screen
 * @property {(measurement: {points: number[][], label?: string},
 *   context: LabelContext) => string} label what it says
 * @property {{area: Function, inside: Function} | null} roi an ROI's geometry
 *   (math/measure.js ROI_SHAPES), null when it encloses nothing
 */

// Two-point shapes show four corner handles: which stored point gives x, which gives y.
const CORNERS = [[0, 0], [1, 0], [1, 1], [0, 1]];
const ELLIPSE_STEPS = 48;

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

/** Angles: a 2-D region's spacing (its pixels may not be square), else the pixels'. */
function angular(points, { spacing, regions }) {
  const us = usCalibration(points, regions);
  return us ? us.spacing : spacing;
}

/** An ROI's area, then its statistics in modality units when the image has one sample. */
function roiLabel({ kind, points }, {
  spacing, detector, unit, regions, frame, pending,
}) {
  const usSize = usArea(kind, points, regions);
  const area = usSize || areaOf(kind, points, spacing);
  const text = [usSize ? `${format(area.value)} ${area.unit} (${usSize.note})`
    : `${format(area.value)} ${area.unit}${area.unit === 'mm²' && detector ? ' (detector)' : ''}`];
  const usable = frame && frame.samples === 1;
  const stats = usable ? roiStats(frame, kind, points) : null;
  if (stats) {
    text.push(`mean ${format(stats.mean)}${unit} SD ${format(stats.sd)}`);
    text.push(`min ${format(stats.min)} max ${format(stats.max)}${unit}`);
  } else if (pending) {
    text.push(pending);
  }
  return text.join(' · ');
}

/** The words a person typed (an arrow's or a text's), or nothing. */
function ownWords(measurement) {
  return measurement.label || '';
}

const own = (points) => points;

function movePoint(points, handle, point) {
  const moved = points.map((p) => [...p]);
  moved[handle] = [...point];
  return moved;
}

function boxCorners(points) {
  return CORNERS.map(([i, j]) => [points[i][0], points[j][1]]);
}

function moveCorner(points, handle, point) {
  const moved = points.map((p) => [...p]);
  const [i, j] = CORNERS[handle];
  moved[i][0] = point[0];
  moved[j][1] = point[1];
  return moved;
}

function ring(points) {
  return points.map((p, i) => [p, points[(i + 1) % points.length]]);
}

function path(points) {
  return points.slice(1).map((p, i) => [points[i], p]);
}

function ellipseRing([[x1, y1], [x2, y2]]) {
  const [cx, cy, rx, ry] = [(x1 + x2) / 2, (y1 + y2) / 2, Math.abs(x2 - x1) / 2, Math.abs(y2 - y1) / 2];
  return Array.from({ length: ELLIPSE_STEPS }, (_, i) => {
    const t = (2 * Math.PI * i) / ELLIPSE_STEPS;
    return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
  });
}

const pointList = (screen) => screen.map((p) => p.join(',')).join(' ');
const polyline = (screen) => ({ element: 'polyline', attributes: { points: pointList(screen) } });
const line = ([x1, y1], [x2, y2]) => ({ element: 'line', attributes: { x1, y1, x2, y2 } });
const dot = ([cx, cy]) => ({ element: 'circle', attributes: { cx, cy, r: 3 } });

/** A point, a line or a path: every point is a handle. */
const EACH_POINT = { handles: own, moveHandle: movePoint, roi: null };
/** A single pressed point with words beside it (probe, text). */
const ONE_POINT = {
  ...EACH_POINT, draw: 'click', points: 1, fewest: 1, outline: path, shape: (screen) => [dot(screen[0])],
};
/** Drawn in the box of two corners: four corner handles. */
const BOXED = { draw: 'drag', points: 2, fewest: 2, handles: boxCorners, moveHandle: moveCorner, label: roiLabel };

/** @type {Readonly<Record<string, Readonly<Kind>>>} */
export const KINDS = Object.freeze({
  length: Object.freeze({
    ...EACH_POINT,
    draw: 'drag',
    points: 2,
    fewest: 2,
    outline: path,
    shape: (screen) => [polyline(screen)],
    label: ({ points }, { spacing, detector, regions }) => {
      const us = usLength(points, regions);
      return us ? usLengthText(us) : lengthText(lengthOf(points, spacing), detector);
    },
  }),
  angle: Object.freeze({
    ...EACH_POINT,
    draw: 'click',
    points: 3,
    fewest: 3,
    outline: path,
    shape: (screen) => [polyline(screen)],
    label: ({ points }, context) => `${format(angleOf(points, angular(points, context)))}°`,
  }),
  cobb: Object.freeze({
    ...EACH_POINT,
    draw: 'click',
    points: 4,
    fewest: 4,
    outline: (points) => [[points[0], points[1]], [points[2], points[3]]],
    // Two lines once it has its four points; while drawn, the path so far.
    shape: (screen) => (screen.length === 4 ? [line(screen[0], screen[1]), line(screen[2], screen[3])]
      : [polyline(screen)]),
    label: ({ points }, context) => `Cobb ${format(cobbAngle(points, angular(points, context)))}°`,
  }),
  ellipse: Object.freeze({
    ...BOXED,
    outline: (points) => ring(ellipseRing(points)),
    shape: ([[x1, y1], [x2, y2]]) => [{
      element: 'ellipse',
      attributes: { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, rx: Math.abs(x2 - x1) / 2, ry: Math.abs(y2 - y1) / 2 },
    }],
    roi: ROI_SHAPES.ellipse,
  }),
  rectangle: Object.freeze({
    ...BOXED,
    outline: (points) => ring(boxCorners(points)),
    shape: ([[x1, y1], [x2, y2]]) => [
      { element: 'polygon', attributes: { points: pointList([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) } },
    ],
    roi: ROI_SHAPES.rectangle,
  }),
  freehand: Object.freeze({
    draw: 'trace',
    points: 'free',
    fewest: 3,
    // Its many vertices would only make spikes: it moves as a whole.
    handles: () => [],
    moveHandle: movePoint,
    outline: ring,
    shape: (screen) => [{ element: 'polygon', attributes: { points: pointList(screen) } }],
    label: roiLabel,
    roi: ROI_SHAPES.freehand,
  }),
  probe: Object.freeze({
    ...ONE_POINT,
    label: ({ points }, { unit, frame, pending }) => {
      const [column, row] = points[0].map(Math.round);
      // A preview's values are block means: no value is read from them.
      if (pending) return `(${column}, ${row}) ${pending}`;
      if (!frame || frame.samples !== 1 || column < 0 || row < 0 || column >= frame.columns
        || row >= frame.rows) return '';
      const stored = frame.values[row * frame.columns + column];
      return `(${column}, ${row}) stored ${stored} = ${format(stored * frame.slope + frame.intercept)}${unit}`;
    },
  }),
  arrow: Object.freeze({
    ...EACH_POINT,
    draw: 'drag',
    points: 2,
    fewest: 2,
    outline: path,
    shape: (screen) => [
      polyline(screen),
      { element: 'circle', attributes: { cx: screen[1][0], cy: screen[1][1], r: 4, class: 'head' } },
    ],
    label: ownWords,
  }),
  text: Object.freeze({
    ...ONE_POINT,
    label: ownWords,
  }),
});

/**
 * The registry entry of ``kind``.
 * @param {string} kind
 * @returns {Readonly<Kind>}
 * @throws {Error} for a kind the registry does not know
 */
export function kindOf(kind) {
  if (!Object.hasOwn(KINDS, kind)) throw new Error(`unknown measurement kind: ${JSON.stringify(kind)}`);
  return KINDS[kind];
}
