import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directionLetters, edgeLabels } from '../../../static/viewer/math/orientation.js';
import { defaultPlacement, imageToCanvas, rotate } from '../../../static/viewer/math/transform.js';

const AXIAL = [1, 0, 0, 0, 1, 0];
const CORONAL = [1, 0, 0, 0, 0, -1];
const image = { columns: 512, rows: 512, spacing: [0.7, 0.7] };
const canvas = { width: 800, height: 600 };

test('an axial slice shows patient left on the screen right, anterior at the top', () => {
  const m = imageToCanvas(image, canvas, defaultPlacement());
  assert.deepEqual(edgeLabels(AXIAL, m), { right: 'L', left: 'R', bottom: 'P', top: 'A' });
});

test('a coronal slice shows the head at the top', () => {
  const m = imageToCanvas(image, canvas, defaultPlacement());
  assert.deepEqual(edgeLabels(CORONAL, m), { right: 'L', left: 'R', bottom: 'F', top: 'H' });
});

test('markers follow a quarter turn and a flip', () => {
  const turned = imageToCanvas(image, canvas, rotate(defaultPlacement(), 90));
  assert.deepEqual(edgeLabels(AXIAL, turned), { right: 'A', left: 'P', bottom: 'L', top: 'R' });
  const flipped = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: true });
  assert.equal(edgeLabels(AXIAL, flipped).right, 'R');
});

test('oblique directions name both axes, strongest first', () => {
  assert.equal(directionLetters([0.8, -0.5, 0.05]), 'LA');
});

test('no orientation, no markers', () => {
  assert.equal(edgeLabels(null, [1, 0, 0, 1, 0, 0]), null);
  assert.equal(edgeLabels([1, 0, 0, 0, 1], [1, 0, 0, 1, 0, 0]), null);
});
