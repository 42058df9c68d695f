import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  crosshairLine, fromPane, obliquePlane, paneMapping, planeHolding, PLANES, reslice, sampleVoxel,
  segmentOnPane, slabOffsets, stepAlong, toPane, volumeCentre,
} from '../../../static/viewer/math/mpr.js';
import { toPatientPoint, toVoxel, volumeGeometry, voxelAxes } from '../../../static/viewer/math/volume.js';

// An axial volume 20 x 16 x 10, 0.5 x 0.75 mm pixels, 2 mm slices, whose stored value is
// a linear function of the patient position: trilinear sampling must reproduce it exactly.
const [NX, NY, NZ] = [20, 16, 10];
const slices = Array.from({ length: NZ }, (_, k) => ({
  position: [-5, -6, 10 + 2 * k], orientation: [1, 0, 0, 0, 1, 0], pixel_spacing: [0.75, 0.5],
  rows: NY, columns: NX,
}));
const geometry = volumeGeometry(slices);
const linear = ([x, y, z]) => 3 * x - 2 * y + 5 * z;
const { axes, inverse } = voxelAxes(geometry);
const values = new Float32Array(NX * NY * NZ);
for (let k = 0; k < NZ; k += 1) for (let j = 0; j < NY; j += 1) for (let i = 0; i < NX; i += 1) {
  values[(k * NY + j) * NX + i] = linear(toPatientPoint(geometry, axes, [i, j, k]));
}
const volume = { values, slope: 1, intercept: 0 };
const near = (a, b, tolerance = 1e-6) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b}`);
const view = { zoom: 1, panX: 0, panY: 0 };

test('oblique at 0 and 90 degrees is coronal and sagittal', () => {
  const coronal = obliquePlane(0);
  coronal.u.forEach((value, n) => near(value, PLANES.coronal.u[n]));
  coronal.v.forEach((value, n) => near(value, PLANES.coronal.v[n]));
  const sagittal = obliquePlane(90);
  sagittal.u.forEach((value, n) => near(value, PLANES.sagittal.u[n]));
  sagittal.v.forEach((value, n) => near(value, PLANES.sagittal.v[n]));
});

test('a pane fits the volume with square millimetre pixels centred on it', () => {
  const centre = volumeCentre(geometry);
  const mapping = paneMapping(geometry, PLANES.coronal, centre, { width: 200, height: 100 }, view);
  // Coronal extent: 10 mm wide (20 x 0.5), 20 mm high (10 x 2): height decides.
  near(mapping.mmPerPixel, 20 / 100);
  fromPane(mapping, 100, 50).forEach((value, n) => near(value, centre[n]));
  const [x, y] = toPane(mapping, [centre[0] + 1, centre[1], centre[2] + 1]);
  near(x, 105); // 1 mm to the patient's left is 5 pixels right
  near(y, 45); // 1 mm up is 5 pixels up
});

test('moving the crosshair moves the plane, not the picture', () => {
  const centre = volumeCentre(geometry);
  const a = paneMapping(geometry, PLANES.axial, centre, { width: 100, height: 100 }, view);
  const moved = [centre[0] + 2, centre[1] - 1, centre[2] + 4];
  const b = paneMapping(geometry, PLANES.axial, moved, { width: 100, height: 100 }, view);
  near(b.topLeft[0], a.topLeft[0]);
  near(b.topLeft[1], a.topLeft[1]);
  near(b.topLeft[2], a.topLeft[2] + 4);
});

test('the axial plane cuts the coronal pane as a horizontal line through the crosshair', () => {
  const crosshair = [-2, -1, 17];
  const mapping = paneMapping(geometry, PLANES.coronal, crosshair, { width: 200, height: 100 }, view);
  const line = crosshairLine(mapping, [0, 0, 1], crosshair);
  const [cx, cy] = toPane(mapping, crosshair);
  const sorted = [...line].sort((p, q) => p[0] - q[0]);
  near(sorted[0][0], 0);
  near(sorted[1][0], 200);
  near(sorted[0][1], cy);
  near(sorted[1][1], cy);
  assert.ok(cx > 0 && cx < 200);
  assert.equal(crosshairLine(mapping, mapping.normal, crosshair), null); // parallel
});

test('trilinear sampling reproduces a linear field, and nothing is made up outside', () => {
  near(sampleVoxel(volume, geometry, [3.25, 7.5, 4.75]), linear(toPatientPoint(geometry, axes, [3.25, 7.5, 4.75])), 1e-3);
  assert.ok(Number.isNaN(sampleVoxel(volume, geometry, [-0.6, 2, 2])));
  assert.ok(Number.isNaN(sampleVoxel(volume, geometry, [2, 2, NZ - 0.4])));
});

test('a resliced oblique plane holds the field at every pixel inside the volume', () => {
  const centre = volumeCentre(geometry);
  const plane = obliquePlane(30, 20);
  const mapping = paneMapping(geometry, plane, centre, { width: 40, height: 30 }, { zoom: 1.5, panX: 0, panY: 0 });
  const out = reslice(volume, geometry, mapping);
  let inside = 0;
  for (let y = 0; y < 30; y += 1) {
    for (let x = 0; x < 40; x += 1) {
      const value = out[y * 40 + x];
      if (Number.isNaN(value)) continue;
      const point = fromPane(mapping, x + 0.5, y + 0.5);
      const [i, j, k] = toVoxel(geometry, inverse, point);
      // The outer half voxel holds the edge voxel's value: no extrapolation.
      if (i < 0 || j < 0 || k < 0 || i > NX - 1 || j > NY - 1 || k > NZ - 1) continue;
      inside += 1;
      near(value, linear(point), 1e-2);
    }
  }
  assert.ok(inside > 300, `only ${inside} pixels inside`);
});

test('thick slabs take the maximum, minimum and mean along the normal', () => {
  const crosshair = volumeCentre(geometry);
  const mapping = paneMapping(geometry, PLANES.axial, crosshair, { width: 10, height: 10 }, { zoom: 2, panX: 0, panY: 0 });
  const at = (options) => reslice(volume, geometry, mapping, options)[55];
  const plane = at({});
  // The field grows 5 per mm along z (the axial normal, +z): a 6 mm slab reaches +-2.5 mm
  // at its outer samples (three samples 2 mm apart... 6 / ceil(6 / 2) = 2 mm spacing).
  const offsets = slabOffsets(6, stepAlong(geometry, [0, 0, 1]));
  assert.deepEqual(offsets, [-2, 0, 2]);
  near(at({ mode: 'mip', thickness: 6 }), plane + 5 * 2, 1e-3);
  near(at({ mode: 'minip', thickness: 6 }), plane - 5 * 2, 1e-3);
  near(at({ mode: 'average', thickness: 6 }), plane, 1e-3);
});

test('a slab thinner than a voxel is the plane itself', () => {
  assert.deepEqual(slabOffsets(0, 2), [0]);
  assert.deepEqual(slabOffsets(1.5, 2), [0]);
  assert.equal(slabOffsets(1000, 0.5).length, 128);
});

test('a length drawn on the coronal shows there and on no axial pane it does not lie in', () => {
  const centre = volumeCentre(geometry);
  const coronal = paneMapping(geometry, PLANES.coronal, centre, { width: 200, height: 100 }, view);
  // Drawn on the coronal: both ends at the crosshair's y, 10 mm apart in z.
  const ends = [fromPane(coronal, 80, 30), fromPane(coronal, 120, 80)];
  const onCoronal = segmentOnPane(coronal, ends, 0.25);
  onCoronal.flat().forEach((value, n) => near(value, [80, 30, 120, 80][n]));
  // Paged one voxel (0.75 mm) on: not in this plane any more.
  const paged = paneMapping(geometry, PLANES.coronal, [centre[0], centre[1] + 0.75, centre[2]],
    { width: 200, height: 100 }, view);
  assert.equal(segmentOnPane(paged, ends, 0.375), null);
  // Crossing axial planes: only its crossing point lies in one; never drawn there.
  const axial = paneMapping(geometry, PLANES.axial, ends[0], { width: 100, height: 100 }, view);
  assert.equal(segmentOnPane(axial, ends, 1), null);
});

test('a length is found again in the plane that holds it, an oblique one at its angle', () => {
  assert.deepEqual(planeHolding([[0, 0, 5], [10, 4, 5]]), { name: 'axial' });
  assert.deepEqual(planeHolding([[0, 3, 0], [10, 3, -40]]), { name: 'coronal' });
  assert.deepEqual(planeHolding([[2, 0, 0], [2, 10, 9]]), { name: 'sagittal' });
  const centre = volumeCentre(geometry);
  for (const angle of [30, -60, 75]) {
    // Drawn on an untilted oblique pane: the pane found holds both ends again.
    const drawn = paneMapping(geometry, obliquePlane(angle), centre, { width: 120, height: 120 }, view);
    const ends = [fromPane(drawn, 30, 40), fromPane(drawn, 90, 100)];
    const found = planeHolding(ends);
    assert.equal(found.name, 'oblique');
    const middle = ends[0].map((value, n) => (value + ends[1][n]) / 2);
    const again = paneMapping(geometry, obliquePlane(found.angle), middle, { width: 120, height: 120 }, view);
    assert.ok(segmentOnPane(again, ends, 1e-6), `angle ${angle}`);
  }
});
