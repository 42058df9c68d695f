import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildVolume, toPatientPoint, toVoxel, volumeGeometry, voxelAxes } from '../../../static/viewer/math/volume.js';

const axial = (z, extra = {}) => ({
  position: [-100, -120, z], orientation: [1, 0, 0, 0, 1, 0], pixel_spacing: [0.8, 0.7],
  rows: 4, columns: 3, ...extra,
});
const near = (a, b, tolerance = 1e-9) => assert.ok(Math.abs(a - b) <= tolerance, `${a} != ${b}`);

test('a shuffled stack of parallel, evenly spaced slices is a volume in position order', () => {
  const geometry = volumeGeometry([axial(4), axial(0), axial(2), axial(6)]);
  assert.equal(geometry.ok, true);
  assert.deepEqual(geometry.order, [1, 2, 0, 3]);
  assert.deepEqual(geometry.origin, [-100, -120, 0]);
  assert.deepEqual(geometry.spacing, [0.7, 0.8, 2]);
  assert.equal(geometry.slices, 4);
  assert.equal(geometry.sheared, false);
});

test('each reason a stack is not a volume is named', () => {
  assert.equal(volumeGeometry([axial(0), axial(1)]).reason, 'too-few');
  const missing = volumeGeometry([axial(0), { missing: true }, axial(2), { missing: true }]);
  assert.deepEqual([missing.reason, missing.count], ['missing', 2]);
  assert.equal(volumeGeometry([axial(0), axial(1), { ...axial(2), position: null }]).reason, 'no-geometry');
  assert.equal(volumeGeometry([axial(0), axial(1), axial(2, { rows: 5 })]).reason, 'size');
  assert.equal(volumeGeometry([axial(0), axial(1), axial(2, { orientation: [1, 0, 0, 0, 0.9, 0.43589] })]).reason, 'orientation');
  assert.equal(volumeGeometry([axial(0), axial(1), axial(1)]).reason, 'duplicate');
  assert.equal(volumeGeometry([axial(0), axial(1), axial(2), axial(4)]).reason, 'spacing');
});

test('slices that step off their normal (gantry tilt) are a sheared volume', () => {
  const tilted = [0, 1, 2].map((k) => axial(k * 2, { position: [-100, -120 + k * 0.5, k * 2] }));
  const geometry = volumeGeometry(tilted);
  assert.equal(geometry.ok, true);
  assert.equal(geometry.sheared, true);
  assert.deepEqual(geometry.step, [0, 0.5, 2]);
});

test('patient points go to voxel indices and back', () => {
  const tilted = [0, 1, 2].map((k) => axial(k * 2, { position: [-100, -120 + k * 0.5, k * 2] }));
  const geometry = volumeGeometry(tilted);
  const { axes, inverse } = voxelAxes(geometry);
  const point = toPatientPoint(geometry, axes, [1.5, 2.25, 1.75]);
  near(point[0], -100 + 1.5 * 0.7);
  near(point[1], -120 + 2.25 * 0.8 + 1.75 * 0.5);
  near(point[2], 3.5);
  toVoxel(geometry, inverse, point).forEach((value, n) => near(value, [1.5, 2.25, 1.75][n]));
});

const frame = (fill, extra = {}) => ({
  values: Int16Array.from({ length: 12 }, (_, n) => fill * 100 + n), samples: 1,
  dataType: 'int16', slope: 1, intercept: -1024, min: 0, max: 1, ...extra,
});

test('the volume holds the slices in position order and keeps their stored type', () => {
  const geometry = volumeGeometry([axial(4), axial(0), axial(2)]);
  const volume = buildVolume(geometry, [frame(2), frame(0), frame(1)]);
  assert.ok(volume.values instanceof Int16Array);
  assert.deepEqual([volume.values[0], volume.values[12], volume.values[24 + 11]], [0, 100, 211]);
  assert.deepEqual([volume.slope, volume.intercept], [1, -1024]);
});

test('slices with different rescales become modality values', () => {
  const geometry = volumeGeometry([axial(0), axial(2), axial(4)]);
  const volume = buildVolume(geometry, [frame(0), frame(1, { slope: 2 }), frame(2)]);
  assert.ok(volume.values instanceof Float32Array);
  assert.deepEqual([volume.slope, volume.intercept], [1, 0]);
  assert.equal(volume.values[12 + 3], (100 + 3) * 2 - 1024);
  assert.equal(volume.values[3], 3 - 1024);
});

test('colour images are refused', () => {
  const geometry = volumeGeometry([axial(0), axial(2), axial(4)]);
  assert.throws(() => buildVolume(geometry, [frame(0), frame(1), frame(2, { samples: 3 })]), /colour/);
});

test('half floats are exact to 2048 and round to nearest beyond', async () => {
  const { toHalf } = await import('../../../static/viewer/math/volume.js');
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-1024), 0xe400);
  assert.equal(toHalf(0.5), 0x3800);
  assert.equal(toHalf(0), 0);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(1e6), 0x7c00); // overflow is infinity, never a wrong finite value
  assert.equal(toHalf(2047), 0x67ff);
  assert.equal(toHalf(2051), 0x6802); // 2052: the nearest of 2050 and 2052 (ties up)
  assert.equal(toHalf(-3071), 0xea00); // -3072: a tie between -3070 and -3072 goes up in magnitude
});

test('a volume in half floats keeps modality values, or is refused beyond their range', async () => {
  const { halfFloatVolume, toHalf } = await import('../../../static/viewer/math/volume.js');
  const volume = { values: Int16Array.from([0, 1024, 3000, 4095]), slope: 1, intercept: -1024, min: -1024, max: 3071 };
  assert.deepEqual([...halfFloatVolume(volume)], [-1024, 0, 1976, 3071].map(toHalf));
  assert.equal(halfFloatVolume({ ...volume, slope: 100, min: -102400, max: 408476 }), null);
});
