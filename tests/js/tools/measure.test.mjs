import assert from 'node:assert/strict';
import { test } from 'node:test';

import { labelFor, pointerDown, pointerMove, pointerUp } from '../../../static/viewer/tools/measure.js';

test('a length is dragged out and ends when the pointer comes up', () => {
  let { draft, done } = pointerDown(null, 'length', [10, 10]);
  assert.equal(done, false);
  draft = pointerMove(draft, [13, 14]);
  ({ draft, done } = pointerUp(draft));
  assert.equal(done, true);
  assert.deepEqual(draft.points, [[10, 10], [13, 14]]);
});

test('a click without a drag draws nothing', () => {
  const { draft } = pointerDown(null, 'ellipse', [10, 10]);
  assert.deepEqual(pointerUp(draft), { draft: null, done: false });
});

test('an angle takes three presses, the free end following the pointer', () => {
  let step = pointerDown(null, 'angle', [0, 0]);
  assert.equal(pointerUp(step.draft).done, false);
  step = pointerDown(pointerMove(step.draft, [5, 0]), 'angle', [5, 0]);
  assert.equal(step.done, false);
  const moved = pointerMove(step.draft, [5, 7]);
  assert.deepEqual(moved.points, [[0, 0], [5, 0], [5, 7]]);
  step = pointerDown(moved, 'angle', [5, 5]);
  assert.equal(step.done, true);
  assert.deepEqual(step.draft.points, [[0, 0], [5, 0], [5, 5]]);
});

test('a freehand outline collects the path and needs three points', () => {
  let { draft } = pointerDown(null, 'freehand', [0, 0]);
  for (const point of [[0.2, 0.1], [4, 0], [4, 4], [0, 4]]) draft = pointerMove(draft, point);
  const { draft: finished, done } = pointerUp(draft);
  assert.equal(done, true);
  assert.deepEqual(finished.points, [[0, 0], [4, 0], [4, 4], [0, 4]]);
});

test('a probe and a text are one press', () => {
  assert.equal(pointerDown(null, 'probe', [1, 2]).done, true);
  assert.equal(pointerDown(null, 'text', [1, 2]).done, true);
});

const frame = {
  columns: 4, rows: 4, samples: 1, slope: 1, intercept: -1024,
  values: Uint16Array.from({ length: 16 }, (_, i) => 1000 + i),
};

test('labels say mm only with spacing, flag detector spacing, and give HU for CT', () => {
  const length = { kind: 'length', points: [[0, 0], [3, 4]] };
  assert.equal(labelFor(length, { pixel_spacing: [0.5, 0.5] }, frame, 'CT'), '2.5 mm');
  assert.equal(labelFor(length, { pixel_spacing: null }, frame, 'CT'), '5.0 px');
  assert.equal(
    labelFor(length, { pixel_spacing: [0.5, 0.5], spacing_is_at_detector: true }, frame, 'DX'),
    '2.5 mm (detector)',
  );
  assert.equal(labelFor({ kind: 'angle', points: [[1, 0], [0, 0], [0, 1]] }, {}, null, 'CT'), '90.0°');
  assert.equal(labelFor({ kind: 'probe', points: [[1, 2]] }, {}, frame, 'CT'), '(1, 2) stored 1009 = -15.0 HU');
  assert.equal(labelFor({ kind: 'probe', points: [[1, 2]] }, {}, frame, 'MR'), '(1, 2) stored 1009 = -15.0');
  assert.equal(labelFor({ kind: 'probe', points: [[9, 9]] }, {}, frame, 'CT'), '');
  const box = labelFor({ kind: 'rectangle', points: [[0, 0], [1, 1]] }, { pixel_spacing: [1, 1] }, frame, 'CT');
  // Pixels (0,0) (1,0) (0,1) (1,1): stored 1000 1001 1004 1005.
  assert.equal(box, '1.0 mm² · mean -21.5 HU SD 2.1 · min -24.0 max -19.0 HU');
  assert.equal(labelFor({ kind: 'text', points: [[0, 0]], label: 'cyst?' }, {}, null, 'CT'), 'cyst?');
  // An angle with two of its three points has nothing to say yet (regression).
  assert.equal(labelFor({ kind: 'angle', points: [[0, 0], [1, 1]] }, {}, null, 'CT'), '');
  assert.equal(labelFor({ kind: 'cobb', points: [[0, 0], [1, 1], [2, 2]] }, {}, null, 'CT'), '');
});
