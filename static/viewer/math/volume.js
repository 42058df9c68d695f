/**
 * Whether a stack of slices forms a volume (parallel, evenly spaced, one size), its
 * voxel-to-patient geometry, and the volume built from its frames. Pure.
 * @module math/volume
 */
import { imagePlane } from './crossref.js';
import { cross, dot, norm, sub, times, unit } from './vec3.js';

// Direction cosines within this of each other count as one orientation (about 0.6°).
const PARALLEL = 1e-2;
// A gap may differ from the mean by this fraction of it (plus a hair for rounding).
const EVEN = 0.05;
const EVEN_MM = 0.01;

/**
 * The geometry of a volume made of ``instances`` (a series' stack entries), or why not.
 * Voxel (i, j, k) is column i, row j of the k-th slice in position order; its centre
 * lies at ``origin + i*spacing[0]*row + j*spacing[1]*column + k*step``.
 * @param {Array<object>} instances entries with position, orientation, pixel_spacing,
 *   rows, columns (and ``missing`` for images not here yet)
 * @returns {{ok: true, columns: number, rows: number, slices: number, order: number[],
 *   origin: number[], row: number[], column: number[], step: number[],
 *   spacing: number[], sheared: boolean} | {ok: false, reason: string, count?: number}}
 */
export function volumeGeometry(instances) {
  if (instances.length < 3) return { ok: false, reason: 'too-few' };
  const missing = instances.filter((entry) => entry.missing).length;
  if (missing) return { ok: false, reason: 'missing', count: missing };
  const planes = instances.map(imagePlane);
  if (planes.some((plane) => !plane)) return { ok: false, reason: 'no-geometry' };
  const [first] = planes;
  if (planes.some((p) => p.rows !== first.rows || p.columns !== first.columns
    || Math.abs(p.spacing[0] - first.spacing[0]) > 1e-3
    || Math.abs(p.spacing[1] - first.spacing[1]) > 1e-3)) {
    return { ok: false, reason: 'size' };
  }
  const apart = (a, b) => a.some((value, i) => Math.abs(value - b[i]) > PARALLEL);
  if (planes.some((p) => apart(p.row, first.row) || apart(p.column, first.column))) {
    return { ok: false, reason: 'orientation' };
  }
  const normal = unit(first.normal);
  const order = planes.map((p, index) => ({ index, at: dot(p.origin, normal) }))
    .sort((a, b) => a.at - b.at);
  const gaps = order.slice(1).map((entry, i) => entry.at - order[i].at);
  if (gaps.some((gap) => gap < 1e-3)) return { ok: false, reason: 'duplicate' };
  const mean = (order[order.length - 1].at - order[0].at) / gaps.length;
  if (gaps.some((gap) => Math.abs(gap - mean) > mean * EVEN + EVEN_MM)) {
    return { ok: false, reason: 'spacing' };
  }
  const origin = planes[order[0].index].origin;
  const last = planes[order[order.length - 1].index].origin;
  const step = times(sub(last, origin), 1 / gaps.length);
  return {
    ok: true,
    columns: first.columns,
    rows: first.rows,
    slices: order.length,
    order: order.map((entry) => entry.index),
    origin,
    row: unit(first.row),
    column: unit(first.column),
    step,
    // Column spacing, row spacing, distance between slice centres.
    spacing: [first.spacing[1], first.spacing[0], norm(step)],
    // A gantry tilt: slices step off their normal, so the voxels are not boxes.
    sheared: norm(cross(unit(step), normal)) > PARALLEL,
  };
}

/**
 * The voxel-to-patient matrix as columns [a, b, c] with patient = origin + a*i + b*j + c*k,
 * and its inverse (patient offset from origin to voxel indices), row-major 3x3.
 * @param {object} geometry from volumeGeometry
 * @returns {{axes: number[][], inverse: number[][]}}
 */
export function voxelAxes(geometry) {
  const a = times(geometry.row, geometry.spacing[0]);
  const b = times(geometry.column, geometry.spacing[1]);
  const c = geometry.step;
  const det = dot(a, cross(b, c));
  // Rows of the inverse are the reciprocal basis: (b x c)/det, (c x a)/det, (a x b)/det.
  const inverse = [cross(b, c), cross(c, a), cross(a, b)].map((v) => times(v, 1 / det));
  return { axes: [a, b, c], inverse };
}

/** Voxel indices (continuous) of a patient point. */
export function toVoxel(geometry, inverse, point) {
  const d = sub(point, geometry.origin);
  return inverse.map((r) => dot(r, d));
}

/** Patient point of continuous voxel indices. */
export function toPatientPoint(geometry, axes, [i, j, k]) {
  return [0, 1, 2].map((n) => geometry.origin[n] + axes[0][n] * i + axes[1][n] * j + axes[2][n] * k);
}

/**
 * One array of the slices' values in position order, sharing the frames' stored type
 * when they share a rescale; otherwise modality values as floats.
 * @param {object} geometry from volumeGeometry
 * @param {Array<import('../io/api.js').Frame>} frames in the stack's own order
 * @returns {{values: ArrayLike<number>, dataType: string, slope: number,
 *   intercept: number, min: number, max: number}}
 */
export function buildVolume(geometry, frames) {
  const sliceSize = geometry.columns * geometry.rows;
  const sorted = geometry.order.map((index) => frames[index]);
  const [first] = sorted;
  if (sorted.some((f) => f.samples !== 1)) throw new Error('colour images do not form a volume');
  const shared = sorted.every((f) => f.slope === first.slope && f.intercept === first.intercept
    && f.dataType === first.dataType);
  const floats = !shared || first.dataType === 'float32' || first.dataType.endsWith('32');
  const values = floats ? new Float32Array(sliceSize * sorted.length)
    : new first.values.constructor(sliceSize * sorted.length);
  let min = Infinity;
  let max = -Infinity;
  sorted.forEach((frame, k) => {
    if (frame.values.length !== sliceSize) throw new Error('a slice has another size');
    if (floats) {
      for (let n = 0; n < sliceSize; n += 1) values[k * sliceSize + n] = frame.values[n] * frame.slope + frame.intercept;
    } else {
      values.set(frame.values, k * sliceSize);
    }
    min = Math.min(min, frame.min);
    max = Math.max(max, frame.max);
  });
  return {
    values,
    dataType: floats ? 'float32' : first.dataType,
    slope: floats ? 1 : first.slope,
    intercept: floats ? 0 : first.intercept,
    min,
    max,
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// Half floats reach 65504; beyond it they overflow.
const HALF_MAX = 65504;

/** The IEEE 754 half-float bits of ``value``, rounded to nearest. */
export function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 112; // rebias 127 -> 15
  let mantissa = x & 0x7fffff;
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    return sign | ((mantissa >> shift) + ((mantissa >> (shift - 1)) & 1));
  }
  // A carry out of the mantissa correctly bumps the exponent.
  return (sign | (exponent << 10) | (mantissa >> 13)) + ((mantissa >> 12) & 1);
}

/**
 * The volume's modality values as half floats (for a filtered GPU texture), or null
 * when some value is beyond their range. Integer volumes go through a table of their
 * stored values, so this costs one lookup a voxel.
 * @returns {Uint16Array | null}
 */
export function halfFloatVolume(volume) {
  const { values, slope, intercept } = volume;
  const extremes = [volume.min, volume.max].map(Math.abs);
  if (!(Math.max(...extremes) <= HALF_MAX)) return null;
  const out = new Uint16Array(values.length);
  if (values instanceof Float32Array || values instanceof Float64Array) {
    for (let n = 0; n < values.length; n += 1) out[n] = toHalf(values[n] * slope + intercept);
    return out;
  }
  let low = Infinity;
  let high = -Infinity;
  for (let n = 0; n < values.length; n += 1) {
    const v = values[n];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const table = new Uint16Array(high - low + 1);
  for (let v = low; v <= high; v += 1) table[v - low] = toHalf(v * slope + intercept);
  for (let n = 0; n < values.length; n += 1) out[n] = table[values[n] - low];
  return out;
}
