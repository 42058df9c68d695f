import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canvasToImage, defaultPlacement, imageExtent, imageToCanvas, reducedMatrix, rotate, zoomAt,
} from '../../../static/viewer/math/transform.js';

const image = { columns: 200, rows: 100, spacing: [1, 1] };
const canvas = { width: 400, height: 400 };
const apply = (m, u, v) => [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]];
const close = (actual, expected) => actual.forEach((value, i) => {
  assert.ok(Math.abs(value - expected[i]) < 1e-9, `${actual} vs ${expected}`);
});

test('fit centres the image and fills the limiting side', () => {
  const m = imageToCanvas(image, canvas, defaultPlacement());
  close(apply(m, 0, 0), [0, 100]);
  close(apply(m, 200, 100), [400, 300]);
});

test('one to one shows one image pixel per canvas pixel, centred', () => {
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), oneToOne: true });
  close(apply(m, 0, 0), [100, 150]);
  close(apply(m, 200, 100), [300, 250]);
});

test('anisotropic pixels keep their true aspect', () => {
  const m = imageToCanvas({ columns: 100, rows: 100, spacing: [2, 1] }, canvas, defaultPlacement());
  const [x0, y0] = apply(m, 0, 0);
  const [x1, y1] = apply(m, 100, 100);
  assert.ok(Math.abs((y1 - y0) / (x1 - x0) - 2) < 1e-9);
});

test('a quarter turn clockwise puts the top-left corner at the top-right', () => {
  const m = imageToCanvas(image, canvas, rotate(defaultPlacement(), 90));
  const [x, y] = apply(m, 0, 0);
  assert.ok(x > 200 && y < 200, `${x}, ${y}`);
});

test('a horizontal flip mirrors left and right', () => {
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: true });
  close(apply(m, 0, 0), [400, 100]);
});

test('canvasToImage inverts imageToCanvas under any placement', () => {
  const placement = { ...rotate(defaultPlacement(), 270), flipV: true, zoom: 2.5, panX: 13 };
  const m = imageToCanvas(image, canvas, placement);
  const [x, y] = apply(m, 37, 81);
  const back = canvasToImage(m, x, y);
  close([back.u, back.v], [37, 81]);
});

test('zooming about a point keeps that point still', () => {
  const before = imageToCanvas(image, canvas, defaultPlacement());
  const point = canvasToImage(before, 120, 180);
  const after = imageToCanvas(image, canvas, zoomAt(defaultPlacement(), 3, canvas, 120, 180));
  close(apply(after, point.u, point.v), [120, 180]);
});

test('rotation wraps around', () => {
  assert.equal(rotate(defaultPlacement(), -90).rotation, 270);
  assert.equal(rotate(rotate(defaultPlacement(), 270), 90).rotation, 0);
});

test('flips act on the screen after a turn', () => {
  const turned = imageToCanvas(image, canvas, rotate(defaultPlacement(), 90));
  const flipped = imageToCanvas(image, canvas, { ...rotate(defaultPlacement(), 90), flipV: true });
  const [x1, y1] = apply(turned, 10, 20);
  const [x2, y2] = apply(flipped, 10, 20);
  close([x2, y2], [x1, canvas.height - y1]);
});

test('it puts each image pixel on one canvas pixel at 1:1, even on an odd canvas', () => {
  // 64 columns on a 255-pixel-wide canvas centre at 127.5 - 32 = 95.5 unless rounded.
  for (const rotation of [0, 90, 180, 270]) {
    const m = imageToCanvas({ columns: 64, rows: 64, spacing: [0.7, 0.7] }, { width: 255, height: 301 },
      { ...defaultPlacement(), oneToOne: true, rotation });
    assert.ok(Number.isInteger(m[4]) && Number.isInteger(m[5]), `${m}`);
    assert.ok([m[0], m[1], m[2], m[3]].every((v) => Math.abs(Math.abs(v) - 1) < 1e-9 || Math.abs(v) < 1e-9));
  }
});

test('it draws a reduced rendition over the same millimetres as its full image', () => {
  const canvas = { width: 900, height: 700 };
  const placement = { ...defaultPlacement(), zoom: 1.7, panX: 31, panY: -12, rotation: 90, flipH: true };
  const preview = { columns: 1000, rows: 1000, fullColumns: 3000, fullRows: 3000, reducedBy: 3 };
  assert.deepEqual(imageExtent(preview), { columns: 3000, rows: 3000 });
  assert.deepEqual(imageExtent({ columns: 512, rows: 400 }), { columns: 512, rows: 400 });
  const full = imageToCanvas({ ...imageExtent(preview), spacing: [0.143, 0.143] }, canvas, placement);
  const reduced = reducedMatrix(full, preview.reducedBy);
  const at = (m, u, v) => [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]];
  // Rendition pixel (u, v) starts where full pixel (3u, 3v) does; its corners are the image's.
  for (const [u, v] of [[0, 0], [1000, 1000], [250, 731]]) {
    at(reduced, u, v).forEach((x, n) => assert.ok(Math.abs(x - at(full, 3 * u, 3 * v)[n]) < 1e-9));
  }
  assert.equal(reducedMatrix(full, 1), full);
  assert.equal(reducedMatrix(full, undefined), full);
});
