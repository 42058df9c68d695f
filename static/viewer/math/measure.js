/**
 * Measurement maths in image coordinates ([column, row] pixels): lengths, angles and
 * areas in mm when the pixel spacing is known, else in px; ROI statistics in modality
 * units. No DOM.
 * @module math/measure
 */

/**
 * Physical size of one pixel step, or null when the header gives none.
 * @param {number[] | null | undefined} pixelSpacing [row spacing, column spacing] in mm
 * @returns {{dx: number, dy: number, unit: 'mm' | 'px'}}
 */
export function scale(pixelSpacing) {
  const known = Array.isArray(pixelSpacing) && pixelSpacing.length === 2
    && pixelSpacing.every((v) => Number.isFinite(v) && v > 0);
  // PixelSpacing is (between rows, between columns): y first, then x.
  return known ? { dx: pixelSpacing[1], dy: pixelSpacing[0], unit: 'mm' } : { dx: 1, dy: 1, unit: 'px' };
}

function physical(point, s) {
  return [point[0] * s.dx, point[1] * s.dy];
}

/**
 * Length of the segment a-b.
 * @param {number[][]} points two [column, row] points
 * @param {number[] | null} pixelSpacing
 * @returns {{value: number, unit: string}}
 */
export function lengthOf([a, b], pixelSpacing) {
  const s = scale(pixelSpacing);
  const [ax, ay] = physical(a, s);
  const [bx, by] = physical(b, s);
  return { value: Math.hypot(bx - ax, by - ay), unit: s.unit };
}

function direction(a, b, s) {
  const [ax, ay] = physical(a, s);
  const [bx, by] = physical(b, s);
  return [bx - ax, by - ay];
}

function between(u, v) {
  const norm = Math.hypot(...u) * Math.hypot(...v);
  if (norm === 0) return NaN;
  const cos = Math.min(1, Math.max(-1, (u[0] * v[0] + u[1] * v[1]) / norm));
  return (Math.acos(cos) * 180) / Math.PI;
}

/**
 * The angle at the vertex of a-vertex-b, in degrees (0 to 180), in the patient's space.
 * @param {number[][]} points [a, vertex, b]
 * @param {number[] | null} pixelSpacing
 * @returns {number}
 */
export function angleOf([a, vertex, b], pixelSpacing) {
  const s = scale(pixelSpacing);
  return between(direction(vertex, a, s), direction(vertex, b, s));
}

/**
 * Cobb angle between the lines p1-p2 and p3-p4, in degrees (0 to 90).
 * @param {number[][]} points four points
 * @param {number[] | null} pixelSpacing
 * @returns {number}
 */
export function cobbAngle([p1, p2, p3, p4], pixelSpacing) {
  const s = scale(pixelSpacing);
  const angle = between(direction(p1, p2, s), direction(p3, p4, s));
  return angle > 90 ? 180 - angle : angle;
}

function polygonArea(points, s) {
  let twice = 0;
  for (let i = 0; i < points.length; i += 1) {
    const [x1, y1] = physical(points[i], s);
    const [x2, y2] = physical(points[(i + 1) % points.length], s);
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}

function boxSides([a, b], s) {
  return [Math.abs(b[0] - a[0]) * s.dx, Math.abs(b[1] - a[1]) * s.dy];
}

function box([a, b]) {
  const [left, right] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [top, bottom] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
  return { left, right, top, bottom };
}

function insidePolygon(points) {
  return (column, row) => {
    // Ray casting from the pixel centre.
    let hit = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if ((yi > row) !== (yj > row) && column < ((xj - xi) * (row - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  };
}

function insideBox(points) {
  const { left, right, top, bottom } = box(points);
  return (column, row) => column >= left && column <= right && row >= top && row <= bottom;
}

function insideEllipse(points) {
  const { left, right, top, bottom } = box(points);
  const [cx, cy, rx, ry] = [(left + right) / 2, (top + bottom) / 2, (right - left) / 2, (bottom - top) / 2];
  return (column, row) => rx > 0 && ry > 0
    && ((column - cx) / rx) ** 2 + ((row - cy) / ry) ** 2 <= 1;
}

/**
 * The ROI kinds' geometry: ``area(points, scale)`` in squared scale units and
 * ``inside(points)``, a test of pixel centres. An ellipse or a rectangle is given by
 * two corners of its box, a freehand outline by its vertices. tools/registry.js hands
 * these to the kinds it marks as ROIs.
 * @type {Readonly<Record<'ellipse' | 'rectangle' | 'freehand', {area: Function, inside: Function}>>}
 */
export const ROI_SHAPES = Object.freeze({
  ellipse: Object.freeze({
    area: (points, s) => {
      const [width, height] = boxSides(points, s);
      return (Math.PI * width * height) / 4;
    },
    inside: insideEllipse,
  }),
  rectangle: Object.freeze({
    area: (points, s) => {
      const [width, height] = boxSides(points, s);
      return width * height;
    },
    inside: insideBox,
  }),
  freehand: Object.freeze({ area: polygonArea, inside: insidePolygon }),
});

function roiShape(kind) {
  if (!Object.hasOwn(ROI_SHAPES, kind)) throw new Error(`not an ROI kind: ${JSON.stringify(kind)}`);
  return ROI_SHAPES[kind];
}

/**
 * Area of a polygon (shoelace), an ellipse inside the box of two corners, or that box.
 * @param {'ellipse' | 'rectangle' | 'freehand'} kind
 * @param {number[][]} points corners (ellipse, rectangle) or vertices (freehand)
 * @param {number[] | null} pixelSpacing
 * @returns {{value: number, unit: string}}
 */
export function areaOf(kind, points, pixelSpacing) {
  const s = scale(pixelSpacing);
  return { value: roiShape(kind).area(points, s), unit: s.unit === 'mm' ? 'mm²' : 'px²' };
}

/**
 * Whether the centre of pixel (column, row) lies inside the shape.
 * @param {'ellipse' | 'rectangle' | 'freehand'} kind
 * @param {number[][]} points
 * @returns {(column: number, row: number) => boolean}
 */
export function inside(kind, points) {
  return roiShape(kind).inside(points);
}

/**
 * Mean, SD (population), min, max and pixel count of the modality values inside a shape.
 * Pixel centres are at integer coordinates: pixel (c, r) covers c-0.5..c+0.5.
 * @param {{values: ArrayLike<number>, columns: number, rows: number, slope: number,
 *   intercept: number}} frame stored values and rescale
 * @param {'ellipse' | 'rectangle' | 'freehand'} kind
 * @param {number[][]} points
 * @returns {{mean: number, sd: number, min: number, max: number, count: number} | null}
 */
export function roiStats(frame, kind, points) {
  const test = inside(kind, points);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const c0 = Math.max(0, Math.ceil(Math.min(...xs)));
  const c1 = Math.min(frame.columns - 1, Math.floor(Math.max(...xs)));
  const r0 = Math.max(0, Math.ceil(Math.min(...ys)));
  const r1 = Math.min(frame.rows - 1, Math.floor(Math.max(...ys)));
  let count = 0; let sum = 0; let squares = 0; let min = Infinity; let max = -Infinity;
  for (let row = r0; row <= r1; row += 1) {
    for (let column = c0; column <= c1; column += 1) {
      if (!test(column, row)) continue;
      const value = frame.values[row * frame.columns + column] * frame.slope + frame.intercept;
      count += 1;
      sum += value;
      squares += value * value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
  }
  if (!count) return null;
  const mean = sum / count;
  return { mean, sd: Math.sqrt(Math.max(squares / count - mean * mean, 0)), min, max, count };
}
