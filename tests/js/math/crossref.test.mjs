import assert from 'node:assert/strict';
import { test } from 'node:test';

import { crossReference, nearestSlice, toPatient, toPixel, imagePlane } from '../../../static/viewer/math/crossref.js';

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
