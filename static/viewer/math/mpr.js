/**
 * Multiplanar reformatting as geometry: the planes, where a pane's pixels lie in the
 * patient, the crosshair lines, thick slabs, and a reference resampler. Pure.
 * @module math/mpr
 */
import { toPatientPoint, toVoxel, voxelAxes } from './volume.js';
import { add, cross, dot, norm, sub, times, unit } from './vec3.js';

/** Screen right (u) and screen down (v) of each standard view, in LPS patient axes. */
export const PLANES = Object.freeze({
  axial: { u: [1, 0, 0], v: [0, 1, 0] }, // seen from the feet
  coronal: { u: [1, 0, 0], v: [0, 0, -1] }, // seen from the front
  sagittal: { u: [0, 1, 0], v: [0, 0, -1] }, // seen from the patient's left
});

export const SLAB_MODES = Object.freeze({ none: 0, mip: 1, minip: 2, average: 3 });
export const MAX_SLAB_SAMPLES = 128;

/**
 * The oblique plane: the coronal plane turned by ``angle`` degrees about the patient's
 * long axis (as seen on the axial view), then tilted by ``tilt`` degrees about its own
 * horizontal; 0/0 is coronal and 90/0 sagittal.
 */
export function obliquePlane(angle, tilt = 0) {
  const a = (angle * Math.PI) / 180;
  const t = (tilt * Math.PI) / 180;
  const u = [Math.cos(a), Math.sin(a), 0];
  const flat = cross(u, [0, 0, -1]); // the untilted plane's normal
  const v = add(times([0, 0, -1], Math.cos(t)), times(flat, Math.sin(t)));
  return { u, v };
}

/** The unit normal of a plane (screen right x screen down: towards the viewer's back). */
export function planeNormal(plane) {
  return unit(cross(plane.u, plane.v));
}

/** The eight outer corners of the volume (voxel edges) in patient coordinates. */
export function volumeCorners(geometry) {
  const { axes } = voxelAxes(geometry);
  const [i, j, k] = [geometry.columns - 0.5, geometry.rows - 0.5, geometry.slices - 0.5];
  const corners = [];
  for (const a of [-0.5, i]) for (const b of [-0.5, j]) for (const c of [-0.5, k]) corners.push(toPatientPoint(geometry, axes, [a, b, c]));
  return corners;
}

/** The centre of the volume in patient coordinates. */
export function volumeCentre(geometry) {
  const { axes } = voxelAxes(geometry);
  return toPatientPoint(geometry, axes, [(geometry.columns - 1) / 2, (geometry.rows - 1) / 2, (geometry.slices - 1) / 2]);
}

/**
 * Where a pane's pixels lie: pane pixel (x, y), with pixel centres at +0.5, is at
 * ``topLeft + x*du + y*dv``. The plane passes through the crosshair; in the plane the
 * view stays centred on the volume so moving the crosshair does not move the picture.
 * Pixels are square in millimetres, so the aspect is right whatever the voxel spacing.
 * @param {object} geometry from volumeGeometry
 * @param {{u: number[], v: number[]}} plane
 * @param {number[]} crosshair patient point
 * @param {{width: number, height: number}} pane device pixels
 * @param {{zoom: number, panX: number, panY: number}} view
 */
export function paneMapping(geometry, plane, crosshair, pane, view) {
  const u = unit(plane.u);
  const v = unit(plane.v);
  const normal = planeNormal(plane);
  const centre = volumeCentre(geometry);
  const anchor = add(centre, times(normal, dot(sub(crosshair, centre), normal)));
  let extentU = 0;
  let extentV = 0;
  for (const corner of volumeCorners(geometry)) {
    extentU = Math.max(extentU, 2 * Math.abs(dot(sub(corner, centre), u)));
    extentV = Math.max(extentV, 2 * Math.abs(dot(sub(corner, centre), v)));
  }
  const mmPerPixel = Math.max(extentU / pane.width, extentV / pane.height) / view.zoom;
  const topLeft = sub(sub(anchor, times(u, (pane.width / 2 + view.panX) * mmPerPixel)),
    times(v, (pane.height / 2 + view.panY) * mmPerPixel));
  return {
    topLeft, u, v, normal, mmPerPixel, width: pane.width, height: pane.height,
    du: times(u, mmPerPixel), dv: times(v, mmPerPixel),
  };
}

/** Pane coordinates [x, y] (continuous, pixel edges at integers) of a patient point. */
export function toPane(mapping, point) {
  const d = sub(point, mapping.topLeft);
  return [dot(d, mapping.u) / mapping.mmPerPixel, dot(d, mapping.v) / mapping.mmPerPixel];
}

/** Patient point at pane coordinates (x, y). */
export function fromPane(mapping, x, y) {
  return add(mapping.topLeft, add(times(mapping.du, x), times(mapping.dv, y)));
}

/**
 * The segment, in pane coordinates, where another plane through the crosshair cuts
 * this pane; null when the planes are parallel or the line misses the pane.
 * @returns {number[][] | null}
 */
export function crosshairLine(mapping, otherNormal, crosshair) {
  const along = cross(mapping.normal, otherNormal);
  const direction = [dot(along, mapping.u), dot(along, mapping.v)];
  const length = Math.hypot(...direction);
  if (length < 1e-6) return null;
  const [dx, dy] = [direction[0] / length, direction[1] / length];
  const [x0, y0] = toPane(mapping, crosshair);
  // Clip the infinite line x0 + t*dx, y0 + t*dy to the pane rectangle.
  let low = -Infinity;
  let high = Infinity;
  for (const [p, d, size] of [[x0, dx, mapping.width], [y0, dy, mapping.height]]) {
    if (Math.abs(d) < 1e-12) {
      if (p < 0 || p > size) return null;
    } else {
      const [a, b] = [(0 - p) / d, (size - p) / d].sort((m, n) => m - n);
      low = Math.max(low, a);
      high = Math.min(high, b);
    }
  }
  if (!(high > low)) return null;
  return [[x0 + low * dx, y0 + low * dy], [x0 + high * dx, y0 + high * dy]];
}

/** Millimetres between neighbouring voxels along ``direction`` (a unit vector). */
export function stepAlong(geometry, direction) {
  const { inverse } = voxelAxes(geometry);
  const perMm = inverse.map((r) => Math.abs(dot(r, direction)));
  return 1 / Math.max(...perMm);
}

/** Samples across a slab ``thickness`` mm thick, about one voxel (``step`` mm) apart. */
export function slabSamples(thickness, step) {
  if (!(thickness > step)) return 1;
  return Math.min(MAX_SLAB_SAMPLES, Math.ceil(thickness / step));
}

/**
 * One sample count for every pane of a slab: the densest any pane needs, so the GPU and
 * the Canvas fallback sample alike; 1 when the slab is off.
 */
export function slabSampleCount(geometry, normals, slab) {
  if (!SLAB_MODES[slab.mode]) return 1;
  return Math.max(...normals.map((normal) => slabSamples(slab.thickness, stepAlong(geometry, normal))));
}

/**
 * Sample offsets (mm along the pane's normal) of a slab ``thickness`` mm thick, evenly
 * across it; a single plane when the slab is off or thinner than a voxel.
 */
export function slabOffsets(thickness, step, count = slabSamples(thickness, step)) {
  if (count <= 1) return [0];
  const spacing = thickness / count;
  return Array.from({ length: count }, (_, s) => (s - (count - 1) / 2) * spacing);
}

/**
 * The value at continuous voxel indices, trilinear (or nearest), in modality units;
 * NaN outside the volume.
 */
export function sampleVoxel(volume, geometry, [i, j, k], linear = true) {
  const { columns: nx, rows: ny, slices: nz } = geometry;
  if (!(i >= -0.5 && j >= -0.5 && k >= -0.5 && i <= nx - 0.5 && j <= ny - 0.5 && k <= nz - 0.5)) return NaN;
  const x = Math.min(Math.max(i, 0), nx - 1);
  const y = Math.min(Math.max(j, 0), ny - 1);
  const z = Math.min(Math.max(k, 0), nz - 1);
  const at = (a, b, c) => volume.values[(c * ny + b) * nx + a];
  let stored;
  if (!linear) {
    stored = at(Math.round(x), Math.round(y), Math.round(z));
  } else {
    const [x0, y0, z0] = [Math.floor(x), Math.floor(y), Math.floor(z)];
    const [x1, y1, z1] = [Math.min(x0 + 1, nx - 1), Math.min(y0 + 1, ny - 1), Math.min(z0 + 1, nz - 1)];
    const [fx, fy, fz] = [x - x0, y - y0, z - z0];
    const lerp = (a, b, f) => a + (b - a) * f;
    const plane = (c) => lerp(lerp(at(x0, y0, c), at(x1, y0, c), fx), lerp(at(x0, y1, c), at(x1, y1, c), fx), fy);
    stored = lerp(plane(z0), plane(z1), fz);
  }
  return stored * volume.slope + volume.intercept;
}

/**
 * Modality values of every pane pixel (NaN where no sample falls in the volume): the
 * plane itself, or the slab's maximum, minimum or mean. The reference for the GPU path
 * and the Canvas 2D fallback.
 * @returns {Float32Array} row by row, ``width * height``
 */
export function reslice(volume, geometry, mapping, {
  mode = 'none', thickness = 0, linear = true, samples = undefined,
} = {}) {
  const { inverse } = voxelAxes(geometry);
  const code = SLAB_MODES[mode] ?? 0;
  const offsets = code ? slabOffsets(thickness, stepAlong(geometry, mapping.normal), samples) : [0];
  const origin = toVoxel(geometry, inverse, mapping.topLeft);
  const du = inverse.map((r) => dot(r, mapping.du));
  const dv = inverse.map((r) => dot(r, mapping.dv));
  const dw = inverse.map((r) => dot(r, mapping.normal));
  const out = new Float32Array(mapping.width * mapping.height);
  for (let y = 0; y < mapping.height; y += 1) {
    for (let x = 0; x < mapping.width; x += 1) {
      let result = NaN;
      let sum = 0;
      let count = 0;
      for (const offset of offsets) {
        const p = [0, 1, 2].map((n) => origin[n] + (x + 0.5) * du[n] + (y + 0.5) * dv[n] + offset * dw[n]);
        const value = sampleVoxel(volume, geometry, p, linear);
        if (Number.isNaN(value)) continue;
        count += 1;
        sum += value;
        if (code === 1) result = count === 1 ? value : Math.max(result, value);
        else if (code === 2) result = count === 1 ? value : Math.min(result, value);
        else result = value;
      }
      out[y * mapping.width + x] = code === 3 && count ? sum / count : result;
    }
  }
  return out;
}

/** Voxel-space origin and steps of a pane, for the GPU: what ``reslice`` uses. */
export function voxelMapping(geometry, mapping) {
  const { inverse } = voxelAxes(geometry);
  return {
    origin: toVoxel(geometry, inverse, mapping.topLeft),
    du: inverse.map((r) => dot(r, mapping.du)),
    dv: inverse.map((r) => dot(r, mapping.dv)),
    dw: inverse.map((r) => dot(r, mapping.normal)),
  };
}

/** Distance in mm of a patient point from a pane's plane (signed along its normal). */
export function distanceFromPlane(mapping, point) {
  return dot(sub(point, mapping.topLeft), mapping.normal);
}

/**
 * A segment in the patient (mm) as it lies on a pane, in pane coordinates; null when
 * an end is farther than ``tolerance`` mm from the pane's plane (it is not drawn in
 * this plane, so showing it here would mislead).
 * @param {object} mapping from paneMapping
 * @param {number[][]} points patient points
 * @param {number} tolerance mm
 * @returns {number[][] | null}
 */
export function segmentOnPane(mapping, points, tolerance) {
  if (points.some((point) => Math.abs(distanceFromPlane(mapping, point)) > tolerance)) return null;
  return points.map((point) => toPane(mapping, point));
}

/**
 * Which pane's plane, through the segment's middle, holds the segment: the first of
 * axial, coronal and sagittal that does, else the untilted oblique at the angle of its
 * horizontal direction (any segment lies in that one).
 * @param {number[][]} points two patient points
 * @returns {{name: string, angle?: number}}
 */
export function planeHolding([a, b]) {
  const d = sub(b, a);
  const length = norm(d);
  for (const name of ['axial', 'coronal', 'sagittal']) {
    if (Math.abs(dot(planeNormal(PLANES[name]), d)) <= 1e-6 * Math.max(length, 1)) return { name };
  }
  let angle = (Math.atan2(d[1], d[0]) * 180) / Math.PI;
  if (angle > 90) angle -= 180;
  if (angle < -90) angle += 180;
  return { name: 'oblique', angle };
}
