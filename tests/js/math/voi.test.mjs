import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VOI_FUNCTIONS, voiFraction, greyLevel, initialWindow, dragWindow, voiFunctionCode,
} from '../../../static/viewer/math/voi.js';

test('linear window follows PS3.3 C.11.2.1.2.1 at its edges', () => {
  // c=40, w=400: x <= c - 0.5 - (w-1)/2 = -160 is black, x > c - 0.5 + (w-1)/2 = 239 white.
  assert.equal(voiFraction(-160, 40, 400), 0);
  assert.equal(voiFraction(-159.9, 40, 400) > 0, true);
  assert.equal(voiFraction(238.9, 40, 400) < 1, true);
  assert.equal(voiFraction(239.1, 40, 400), 1);
  assert.equal(voiFraction(39.5, 40, 400), 0.5);
});

test('linear exact has no half-pixel offset', () => {
  assert.equal(voiFraction(40, 40, 400, VOI_FUNCTIONS.LINEAR_EXACT), 0.5);
  assert.equal(voiFraction(-160, 40, 400, VOI_FUNCTIONS.LINEAR_EXACT), 0);
  assert.equal(voiFraction(240.01, 40, 400, VOI_FUNCTIONS.LINEAR_EXACT), 1);
});

test('sigmoid is one half at the center and symmetric', () => {
  assert.equal(voiFraction(40, 40, 400, VOI_FUNCTIONS.SIGMOID), 0.5);
  const above = voiFraction(140, 40, 400, VOI_FUNCTIONS.SIGMOID);
  const below = voiFraction(-60, 40, 400, VOI_FUNCTIONS.SIGMOID);
  assert.ok(Math.abs(above + below - 1) < 1e-12);
});

test('a width of one is a threshold', () => {
  assert.equal(voiFraction(100, 100, 1), 1);
  assert.equal(voiFraction(99, 100, 1), 0);
});

test('grey levels go through rescale and MONOCHROME1 inversion', () => {
  const ct = { slope: 1, intercept: -1024, center: 40, width: 400 };
  assert.equal(greyLevel(1024 - 1000, ct), 0); // air
  assert.equal(greyLevel(1024 + 1000, ct), 255); // bone
  assert.equal(greyLevel(1024 - 1000, { ...ct, invert: true }), 255);
});

test('the file window comes first, else the full range', () => {
  assert.deepEqual(initialWindow({ windows: [{ center: 40, width: 400 }], min: 0, max: 9 }),
    { center: 40, width: 400 });
  assert.deepEqual(initialWindow({ windows: [], min: -1000, max: 1000 }),
    { center: 0, width: 2000 });
});

test('dragging never makes the width smaller than one', () => {
  assert.deepEqual(dragWindow({ center: 40, width: 10 }, -100, 5, 1), { center: 45, width: 1 });
});

test('unknown VOI functions fall back to linear', () => {
  assert.equal(voiFunctionCode('SIGMOID'), VOI_FUNCTIONS.SIGMOID);
  assert.equal(voiFunctionCode('FANCY'), VOI_FUNCTIONS.LINEAR);
});
