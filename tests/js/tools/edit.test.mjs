import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultPlacement, imageToCanvas } from '../../../static/viewer/math/transform.js';
import {
  changed, dragTo, handles, hitTest, moveBy, moveHandle, nudgeStep, segmentDistance, segments,
} from '../../../static/viewer/tools/edit.js';

const length = { id: 1, kind: 'length', points: [[10, 10], [30, 10]] };
const box = { id: 2, kind: 'rectangle', points: [[50, 50], [70, 80]] };
const probe = { id: 3, kind: 'probe', points: [[5, 40]] };
const freehand = { id: 4, kind: 'freehand', points: [[0, 60], [20, 60], [20, 90], [0, 90]] };

test('distance to a segment is to its nearest point, ends included', () => {
  assert.equal(segmentDistance([5, 3], [[0, 0], [10, 0]]), 3);
  assert.equal(segmentDistance([13, 4], [[0, 0], [10, 0]]), 5);
  assert.equal(segmentDistance([3, 4], [[0, 0], [0, 0]]), 5);
});

test('two-point shapes have four corner handles, freehand none', () => {
  assert.deepEqual(handles(box), [[50, 50], [70, 50], [70, 80], [50, 80]]);
  assert.deepEqual(handles(freehand), []);
  assert.deepEqual(handles(length), length.points);
  assert.equal(segments(box).length, 4);
  assert.equal(segments({ kind: 'cobb', points: [[0, 0], [1, 0], [0, 1], [1, 1]] }).length, 2);
});

test('a handle wins over an outline, and the nearest handle is the one', () => {
  assert.deepEqual(hitTest([length, box], [29, 11], 3), { id: 1, handle: 1 });
  assert.deepEqual(hitTest([length, box], [70.5, 51], 3), { id: 2, handle: 1 });
  assert.deepEqual(hitTest([length, box], [20, 12], 3), { id: 1, handle: null });
  assert.deepEqual(hitTest([length, box], [60, 79], 3), { id: 2, handle: null });
  assert.equal(hitTest([length, box], [20, 20], 3), null);
});

test('a probe grabbed by its point moves as a whole', () => {
  assert.deepEqual(hitTest([probe], [6, 41], 3), { id: 3, handle: null });
});

test('the inside of an ROI grabs it only when it is selected', () => {
  assert.equal(hitTest([box, freehand], [60, 65], 2), null);
  assert.deepEqual(hitTest([box, freehand], [60, 65], 2, { selected: 2 }), { id: 2, handle: null });
  assert.deepEqual(hitTest([box, freehand], [10, 75], 2, { selected: 4 }), { id: 4, handle: null });
});

test('with a drawing tool only handles count', () => {
  assert.equal(hitTest([length], [20, 10], 3, { handlesOnly: true }), null);
  assert.deepEqual(hitTest([length], [10, 11], 3, { handlesOnly: true }), { id: 1, handle: 0 });
});

test('the later of two overlapping measurements is grabbed', () => {
  const again = { ...length, id: 9 };
  assert.equal(hitTest([length, again], [20, 10], 3).id, 9);
});

test('a drag moves every point by the pointer travel, a handle only its point', () => {
  const grab = { kind: 'length', points: length.points, start: [20, 10] };
  assert.deepEqual(dragTo({ ...grab, handle: null }, [25, 17]), [[15, 17], [35, 17]]);
  assert.deepEqual(dragTo({ ...grab, handle: 0 }, [12, 3]), [[12, 3], [30, 10]]);
  assert.deepEqual(moveBy([[1, 2]], -1, 1), [[0, 3]]);
});

test('a corner of a box moves the x of one stored point and the y of the other', () => {
  assert.deepEqual(moveHandle('rectangle', box.points, 1, [75, 45]), [[50, 45], [75, 80]]);
  assert.deepEqual(moveHandle('ellipse', box.points, 3, [40, 90]), [[40, 50], [70, 90]]);
  assert.deepEqual(box.points, [[50, 50], [70, 80]], 'the original is left alone');
});

test('changed tells a move from a click', () => {
  assert.equal(changed(length.points, [[10, 10], [30, 10]]), false);
  assert.equal(changed(length.points, [[10, 10], [30, 11]]), true);
});

test('arrow keys step one image pixel the way they point on screen', () => {
  const canvas = { width: 400, height: 400 };
  const image = { columns: 100, rows: 100 };
  const plain = imageToCanvas(image, canvas, defaultPlacement());
  assert.deepEqual(nudgeStep(plain, 'ArrowRight'), [1, 0]);
  assert.deepEqual(nudgeStep(plain, 'ArrowUp'), [0, -1]);
  // Turned a quarter clockwise: screen right is image up (rows decrease).
  const turned = imageToCanvas(image, canvas, { ...defaultPlacement(), rotation: 90 });
  assert.deepEqual(nudgeStep(turned, 'ArrowRight'), [0, -1]);
  assert.deepEqual(nudgeStep(turned, 'ArrowDown'), [1, 0]);
  const flipped = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: true });
  assert.deepEqual(nudgeStep(flipped, 'ArrowLeft', 10), [10, 0]);
  assert.equal(nudgeStep(plain, 'Enter'), null);
});
