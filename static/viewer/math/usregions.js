/**
 * Ultrasound calibration: which Sequence of Ultrasound Regions item holds a
 * measurement's points, and what can be measured there in its physical units. No DOM.
 * @module math/usregions
 */
import { areaOf, lengthOf } from './measure.js';

// Physical Units X/Y Direction (PS3.3 C.8.5.5.1.15) that give a sure number: the
// symbol a difference along that axis is shown with, its unit and the factor to it.
const AXES = {
  3: { symbol: 'Δd', unit: 'mm', factor: 10 }, // cm, shown in mm like every other length
  4: { symbol: 'Δt', unit: 's', factor: 1, digits: 3 },
  5: { symbol: 'Δf', unit: 'Hz', factor: 1, digits: 0 },
  7: { symbol: 'Δv', unit: 'cm/s', factor: 1 },
};
const CM = 3;
// Region Spatial Format (PS3.3 C.8.5.5.1.1): 2-D images, and the strips with time along x.
const IMAGE_2D = 1;
const STRIPS = new Set([2, 3, 4]); // M-mode, spectral Doppler, waveform

/**
 * @typedef {{min_x0: number, min_y0: number, max_x1: number, max_y1: number,
 *   spatial_format: number, data_type: number, units_x: number, units_y: number,
 *   delta_x: number, delta_y: number}} UsRegion
 */

/** Whether image point [column, row] (pixel centres at whole numbers) lies in the region. */
function holds(region, [x, y]) {
  // The bounds name whole pixels: each reaches half a pixel beyond its centre.
  return x >= region.min_x0 - 0.5 && x <= region.max_x1 + 0.5
    && y >= region.min_y0 - 0.5 && y <= region.max_y1 + 0.5;
}

function sameCalibration(a, b) {
  return a.units_x === b.units_x && a.units_y === b.units_y
    && Math.abs(a.delta_x - b.delta_x) <= 1e-9 && Math.abs(a.delta_y - b.delta_y) <= 1e-9;
}

/**
 * The one region that holds every point, or why there is none: ``outside`` (a point in
 * no region), ``crossing`` (the points lie in different regions) or ``ambiguous``
 * (overlapping regions that disagree on their calibration).
 * @param {number[][]} points [column, row] image points
 * @param {UsRegion[]} regions
 * @returns {{region: UsRegion | null, reason: string | null}}
 */
export function regionFor(points, regions) {
  const common = regions.filter((r) => points.every((p) => holds(r, p)));
  if (common.length && common.every((r) => sameCalibration(r, common[0]))) {
    return { region: common[0], reason: null };
  }
  if (common.length) return { region: null, reason: 'ambiguous' };
  const each = points.every((p) => regions.some((r) => holds(r, p)));
  return { region: null, reason: each ? 'crossing' : 'outside' };
}

/**
 * The region's pixel spacing in mm as PixelSpacing gives it ([between rows, between
 * columns]) when it is a 2-D image with both axes in cm; else null.
 * @param {UsRegion} region
 * @returns {number[] | null}
 */
export function regionSpacing(region) {
  const dx = Math.abs(region.delta_x) * 10;
  const dy = Math.abs(region.delta_y) * 10;
  const usable = region.spatial_format === IMAGE_2D && region.units_x === CM
    && region.units_y === CM && dx > 0 && dy > 0
    && Number.isFinite(dx) && Number.isFinite(dy);
  return usable ? [dy, dx] : null;
}

/**
 * Differences between two points along each axis of a region that is not a 2-D
 * image (a Doppler or M-mode strip): Δt in s, Δv in cm/s, Δd (depth) in mm...;
 * null when an axis has no unit that gives a sure number.
 * @param {number[][]} points two [column, row] points
 * @param {UsRegion} region
 * @returns {{symbol: string, value: number, unit: string, digits: number}[] | null}
 */
export function axisDeltas([a, b], region) {
  const x = AXES[region.units_x];
  const y = AXES[region.units_y];
  if (!STRIPS.has(region.spatial_format) || !x || !y || !region.delta_x || !region.delta_y) {
    return null;
  }
  // Magnitudes: the sign of a delta only says which way the axis runs on screen.
  const along = (axis, pixels, delta) => ({
    symbol: axis.symbol, unit: axis.unit, digits: axis.digits ?? 1,
    value: Math.abs(pixels * delta) * axis.factor,
  });
  return [along(x, b[0] - a[0], region.delta_x), along(y, b[1] - a[1], region.delta_y)];
}

const NOTES = {
  region: 'US region',
  outside: 'outside US regions',
  crossing: 'crosses US regions',
  ambiguous: 'overlapping US regions',
  units: 'US region without distances',
};

/**
 * How points on an image with ultrasound regions are calibrated: the region that holds
 * them all (or null) and its pixel spacing in mm when it is a 2-D region in cm; ``note``
 * names the calibration for the label. Null when the image has no regions: then
 * PixelSpacing decides, as for any image.
 * @param {number[][]} points
 * @param {UsRegion[] | null | undefined} regions
 * @returns {{region: UsRegion | null, spacing: number[] | null, note: string} | null}
 */
export function usCalibration(points, regions) {
  if (!Array.isArray(regions) || !regions.length) return null;
  const { region, reason } = regionFor(points, regions);
  if (!region) return { region, spacing: null, note: NOTES[reason] };
  const spacing = regionSpacing(region);
  return { region, spacing, note: spacing ? NOTES.region : NOTES.units };
}

/**
 * A length on an image with ultrasound regions: in mm inside a 2-D region in cm, as Δt,
 * Δv (or Δd, Δf) inside a Doppler or M-mode strip, in px anywhere else; null when the
 * image has no regions.
 * @param {number[][]} points two [column, row] points
 * @param {UsRegion[] | null | undefined} regions
 * @returns {{values: {symbol: string, value: number, unit: string, digits: number}[],
 *   note: string} | null}
 */
export function usLength(points, regions) {
  const calibration = usCalibration(points, regions);
  if (!calibration) return null;
  const { region, spacing, note } = calibration;
  if (spacing) {
    return { values: [{ symbol: '', ...lengthOf(points, spacing), digits: 1 }], note };
  }
  const deltas = region ? axisDeltas(points, region) : null;
  if (deltas) return { values: deltas, note: NOTES.region };
  return { values: [{ symbol: '', ...lengthOf(points, null), digits: 1 }], note };
}

/**
 * An ROI's area on an image with ultrasound regions: mm² inside one 2-D region in cm,
 * px² anywhere else (a strip's axes make no area); null when the image has no regions.
 * @param {'ellipse' | 'rectangle' | 'freehand'} kind
 * @param {number[][]} points
 * @param {UsRegion[] | null | undefined} regions
 * @returns {{value: number, unit: string, note: string} | null}
 */
export function usArea(kind, points, regions) {
  const calibration = usCalibration(points, regions);
  if (!calibration) return null;
  return { ...areaOf(kind, points, calibration.spacing), note: calibration.note };
}
