/**
 * Cross-reference geometry: where one image's plane cuts another image, from
 * ImagePositionPatient, ImageOrientationPatient, Rows, Columns and PixelSpacing. No DOM.
 * @module math/crossref
 */

import { add, cross, dot, sub, times } from './vec3.js';

// Planes whose normals are closer than this are parallel: they have no line in common,
// and a line computed from rounding noise between them would be false.
export const PARALLEL_TOLERANCE_DEGREES = 0.5;

/**
 * The plane of an image, or null when its header does not place it in the patient.
 * @param {{position: number[] | null, orientation: number[] | null,
 *   pixel_spacing: number[] | null, rows: number, columns: number,
 *   spacing_is_at_detector?: boolean, frame_of_reference_uid?: string}} image
 */
export function imagePlane(image) {
  const { position, orientation, pixel_spacing: spacing, rows, columns } = image;
  if (!position || !orientation || !spacing || image.spacing_is_at_detector || !rows || !columns) return null;
  const row = orientation.slice(0, 3); // direction of increasing column index
  const column = orientation.slice(3, 6); // direction of increasing row index
  const normal = cross(row, column);
  if (Math.hypot(...normal) < 1e-6) return null;
  return { origin: position, row, column, normal, spacing, rows, columns };
}

/**
 * Patient coordinates (mm) of the centre of pixel (column, row).
 * @returns {number[]}
 */
export function toPatient(plane, column, rowIndex) {
  // PixelSpacing: [between rows (along the column direction), between columns].
  return add(add(plane.origin, times(plane.row, column * plane.spacing[1])), times(plane.column, rowIndex * plane.spacing[0]));
}

/**
 * Pixel coordinates [column, row] on ``plane`` of a patient point (projected onto it).
 * @returns {number[]}
 */
export function toPixel(plane, point) {
  const d = sub(point, plane.origin);
  return [dot(d, plane.row) / plane.spacing[1], dot(d, plane.column) / plane.spacing[0]];
}

/**
 * The segment, in ``target`` pixel coordinates, where the plane of ``source`` crosses the
 * ``target`` image's rectangle (pixel edges at -0.5 and size-0.5); null when the two are
 * not in one frame of reference, are parallel (within PARALLEL_TOLERANCE_DEGREES), or do
 * not meet inside the target.
 * @returns {number[][] | null} two [column, row] end points
 */
export function crossReference(target, source) {
  if (!target.frame_of_reference_uid || target.frame_of_reference_uid !== source.frame_of_reference_uid) {
    return null; // never a line between unrelated coordinate systems
  }
  const t = imagePlane(target);
  const s = imagePlane(source);
  if (!t || !s || parallel(t, s)) return null;
  const n = times(s.normal, 1 / Math.hypot(...s.normal));
  // Signed distance from the source plane of each corner of the target rectangle.
  const corners = [
    [-0.5, -0.5], [t.columns - 0.5, -0.5], [t.columns - 0.5, t.rows - 0.5], [-0.5, t.rows - 0.5],
  ];
  const distance = corners.map(([c, r]) => dot(sub(toPatient(t, c, r), s.origin), n));
  const points = [];
  for (let i = 0; i < 4; i += 1) {
    const j = (i + 1) % 4;
    const [di, dj] = [distance[i], distance[j]];
    if (di === 0) points.push(corners[i]);
    if ((di < 0 && dj > 0) || (di > 0 && dj < 0)) {
      const k = di / (di - dj);
      points.push([
        corners[i][0] + k * (corners[j][0] - corners[i][0]),
        corners[i][1] + k * (corners[j][1] - corners[i][1]),
      ]);
    }
  }
  if (points.length < 2) return null;
  // The target's edge may meet the plane at a corner twice: keep the two farthest apart.
  let best = [points[0], points[1]];
  for (const a of points) {
    for (const b of points) {
      if (Math.hypot(a[0] - b[0], a[1] - b[1]) > Math.hypot(best[0][0] - best[1][0], best[0][1] - best[1][1])) best = [a, b];
    }
  }
  return best;
}

/** Whether two planes' normals are within the parallel tolerance of each other. */
function parallel(a, b) {
  const sine = Math.hypot(...cross(a.normal, b.normal)) / (Math.hypot(...a.normal) * Math.hypot(...b.normal));
  return sine < Math.sin((PARALLEL_TOLERANCE_DEGREES * Math.PI) / 180);
}

/**
 * How the plane of ``source`` lies to that of ``target``: 'same' (parallel, and within half
 * a slice thickness, at least 0.5 mm), 'parallel', 'crossing', or null when they cannot be
 * compared (other frame of reference, or a header that does not place them).
 * @returns {'same' | 'parallel' | 'crossing' | null}
 */
export function planeRelation(target, source) {
  if (!target.frame_of_reference_uid || target.frame_of_reference_uid !== source.frame_of_reference_uid) return null;
  const t = imagePlane(target);
  const s = imagePlane(source);
  if (!t || !s) return null;
  if (!parallel(t, s)) return 'crossing';
  const n = times(t.normal, 1 / Math.hypot(...t.normal));
  const half = Math.max(Number(target.slice_thickness) || 0, Number(source.slice_thickness) || 0, 1) / 2;
  return Math.abs(dot(sub(s.origin, t.origin), n)) <= half ? 'same' : 'parallel';
}

/**
 * The index of the image in ``stack`` whose plane lies nearest the patient point, by
 * distance along the stack's normal; -1 when none can be placed.
 * @param {Array<object>} stack images with position, orientation, pixel_spacing
 * @param {number[]} point patient coordinates in mm
 * @returns {number}
 */
export function nearestSlice(stack, point) {
  let best = -1; let bestDistance = Infinity;
  stack.forEach((image, index) => {
    const plane = imagePlane(image);
    if (!plane) return;
    const n = times(plane.normal, 1 / Math.hypot(...plane.normal));
    const distance = Math.abs(dot(sub(point, plane.origin), n));
    if (distance < bestDistance) { best = index; bestDistance = distance; }
  });
  return best;
}
