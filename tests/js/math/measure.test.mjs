import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  angleOf, areaOf, cobbAngle, inside, lengthOf, roiStats, scale,
} from '../../../static/viewer/math/measure.js';

const close = (actual, expected, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);

test('lengths are in mm only when the pixel spacing is known', () => {
  assert.deepEqual(lengthOf([[0, 0], [3, 4]], [0.5, 0.5]), { value: 2.5, unit: 'mm' });
  assert.deepEqual(lengthOf([[0, 0], [3, 4]], null), { value: 5, unit: 'px' });
  assert.deepEqual(lengthOf([[0, 0], [3, 4]], [0, 0.5]), { value: 5, unit: 'px' });
  // PixelSpacing is rows first: 2 mm between rows (y), 1 mm between columns (x).
  assert.deepEqual(lengthOf([[0, 0], [3, 2]], [2, 1]), { value: 5, unit: 'mm' });
  assert.deepEqual(scale([2, 1]), { dx: 1, dy: 2, unit: 'mm' });
});

test('angles are measured in the patient, not on anisotropic pixels', () => {
  close(angleOf([[10, 0], [0, 0], [0, 10]], [1, 1]), 90);
  close(angleOf([[1, 0], [0, 0], [1, 1]], [1, 1]), 45);
  // Rows 2 mm apart: the diagonal pixel step is atan(2/1) from the horizontal.
  close(angleOf([[1, 0], [0, 0], [1, 1]], [2, 1]), (Math.atan2(2, 1) * 180) / Math.PI);
  assert.ok(Number.isNaN(angleOf([[0, 0], [0, 0], [1, 1]], null)));
});

test('a Cobb angle is between two lines, at most 90 degrees', () => {
  close(cobbAngle([[0, 0], [10, 0], [0, 5], [10, 15]], [1, 1]), 45);
  close(cobbAngle([[0, 0], [10, 0], [10, 15], [0, 5]], [1, 1]), 45);
  close(cobbAngle([[0, 0], [10, 0], [0, 0], [0, 10]], [1, 1]), 90);
});

test('areas of ellipse, rectangle and freehand shapes', () => {
  assert.deepEqual(areaOf('rectangle', [[0, 0], [4, 2]], [0.5, 0.5]), { value: 2, unit: 'mm²' });
  close(areaOf('ellipse', [[0, 0], [4, 2]], null).value, 2 * Math.PI);
  assert.equal(areaOf('ellipse', [[0, 0], [4, 2]], null).unit, 'px²');
  assert.deepEqual(areaOf('freehand', [[0, 0], [4, 0], [4, 3]], [1, 1]), { value: 6, unit: 'mm²' });
});

test('inside tests pixel centres', () => {
  const triangle = inside('freehand', [[0, 0], [10, 0], [0, 10]]);
  assert.ok(triangle(2, 2));
  assert.ok(!triangle(8, 8));
  assert.ok(inside('ellipse', [[0, 0], [10, 10]])(5, 5));
  assert.ok(!inside('ellipse', [[0, 0], [10, 10]])(0, 0));
});

// Stored values (7r + 13c) mod 101 on 16 x 12, rescaled by 2 and -100; the expected
// numbers were worked out with numpy over the same pixel centres.
const frame = {
  columns: 16,
  rows: 12,
  slope: 2,
  intercept: -100,
  values: Array.from({ length: 16 * 12 }, (_, i) => ((Math.floor(i / 16) * 7) + (i % 16) * 13) % 101),
};

test('ROI statistics match numpy, in modality units', () => {
  const ellipse = roiStats(frame, 'ellipse', [[2, 3], [11, 9]]);
  assert.equal(ellipse.count, 38);
  close(ellipse.mean, -1.1578947368421053, 1e-9);
  close(ellipse.sd, 57.86305353149728, 1e-9);
  assert.deepEqual([ellipse.min, ellipse.max], [-100, 100]);
  const box = roiStats(frame, 'rectangle', [[11, 9], [2, 3]]);
  assert.equal(box.count, 70);
  close(box.mean, 8.714285714285714, 1e-9);
  close(box.sd, 57.90735034941416, 1e-9);
  assert.equal(roiStats(frame, 'rectangle', [[40, 40], [50, 50]]), null);
});
