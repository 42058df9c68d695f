import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  crossReference, nearestSlice, planeRelation, toPatient, toPixel, imagePlane,
} from '../../../static/viewer/math/crossref.js';

// Headers of the small demo CT (tests/base.py SMALL_CT), read with pydicom; the expected
// segment was worked out with numpy by clipping the plane against the image rectangle.
const FOR = '1.2.826.0.1.3680043.8.498.57675206174469793547087439863520952990';
const axial = (z) => ({
  position: [-172.2656, -172.2656, z], orientation: [1, 0, 0, 0, 1, 0],
  pixel_spacing: [5.46875, 5.46875], rows: 64, columns: 64, frame_of_reference_uid: FOR,
});
const coronal = {
  position: [-172.2656, -31.6667, -2.7344], orientation: [1, 0, 0, 0, 0, -1],
  pixel_spacing: [5.46875, 5.46875], rows: 54, columns: 64, frame_of_reference_uid: FOR,
};
const localizer = {
  position: [-172.2656, 0, 10], orientation: [1, 0, 0, 0, 0, -1],
  pixel_spacing: [5.46875, 5.46875], rows: 58, columns: 64, frame_of_reference_uid: FOR,
};

const near = (a, b, tolerance = 1e-6) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b}`);

test('an axial slice crosses the coronal image as a horizontal line', () => {
  const line = crossReference(coronal, axial(-10));
  const sorted = [...line].sort((a, b) => a[0] - b[0]);
  near(sorted[0][0], -0.5);
  near(sorted[1][0], 63.5);
  near(sorted[0][1], 1.3285668571428568);
  near(sorted[1][1], 1.3285668571428602);
});

test('the first and last axial slices land on the localizer where their z says', () => {
  for (const z of [0, -25]) {
    const [a] = crossReference(localizer, axial(z));
    near(a[1], (10 - z) / 5.46875);
  }
});

test('nothing is drawn across frames of reference or between parallel images', () => {
  assert.equal(crossReference(coronal, { ...axial(-10), frame_of_reference_uid: '1.2.3' }), null);
  assert.equal(crossReference(axial(0), axial(-5)), null);
  assert.equal(crossReference(coronal, { ...axial(-10), position: null }), null);
  assert.equal(crossReference(coronal, { ...axial(-10), spacing_is_at_detector: true }), null);
  // Above the top of the coronal image: the planes meet outside it.
  assert.equal(crossReference(coronal, axial(50)), null);
});

test('pixel and patient coordinates go both ways', () => {
  const plane = imagePlane(coronal);
  const point = toPatient(plane, 10, 20);
  near(point[0], -172.2656 + 10 * 5.46875);
  near(point[2], -2.7344 - 20 * 5.46875);
  const [column, row] = toPixel(plane, point);
  near(column, 10);
  near(row, 20);
});

test('the nearest slice of a stack to a point, by distance along its normal', () => {
  const stack = [0, -5, -10, -15, -20, -25].map(axial);
  assert.equal(nearestSlice(stack, [10, -20, -14]), 3);
  assert.equal(nearestSlice(stack, [10, -20, 40]), 0);
  assert.equal(nearestSlice([{ ...axial(0), position: null }], [0, 0, 0]), -1);
});

// Regression (issue 13): two axial series at the same z gave a diagonal line, since every
// corner lies on the other plane (distance 0) and the farthest pair of corners was kept.
test('coplanar and nearly parallel images give no line', () => {
  const thin = { ...axial(-170), pixel_spacing: [0.7, 0.7], rows: 512, columns: 512, position: [-180, -180, -170] };
  assert.equal(crossReference(thin, axial(-170)), null);
  assert.equal(crossReference(axial(-170), thin), null);
  // Rounding noise in the orientation (1e-7) must not make the planes meet.
  const noisy = { ...axial(-170), orientation: [1, 0, 1e-7, 0, 1, -1e-7] };
  assert.equal(crossReference(thin, noisy), null);
  // Within the tolerance on the normals' angle (0.5 degrees): still parallel.
  const tilt = (0.4 * Math.PI) / 180;
  const tilted = { ...axial(-170), orientation: [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)] };
  assert.equal(crossReference(thin, tilted), null);
});

test('a plane tilted past the tolerance still crosses where it truly meets the image', () => {
  const tilt = (10 * Math.PI) / 180;
  const tilted = { ...axial(0), position: [-172.2656, 0, 0], orientation: [1, 0, 0, 0, Math.cos(tilt), Math.sin(tilt)] };
  const line = crossReference(axial(0), tilted);
  assert.ok(line, 'a 10 degree tilt meets the axial plane');
  // They meet along y = 0 (the tilted plane's origin row), i.e. row (0 + 172.2656) / 5.46875.
  for (const [, row] of line) near(row, 172.2656 / 5.46875, 1e-6);
});

test('whether two planes are the same, parallel or crossing', () => {
  assert.equal(planeRelation(axial(-170), axial(-170)), 'same');
  assert.equal(planeRelation(axial(-170), axial(-165)), 'parallel');
  assert.equal(planeRelation(axial(-170), coronal), 'crossing');
  assert.equal(planeRelation(axial(-170), { ...coronal, frame_of_reference_uid: '1.2' }), null);
});
