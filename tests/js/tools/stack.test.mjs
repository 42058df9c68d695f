import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampIndex, indexForKey, indexForWheel } from '../../../static/viewer/tools/stack.js';

test('indexes stay inside the stack', () => {
  assert.equal(clampIndex(-3, 10), 0);
  assert.equal(clampIndex(12, 10), 9);
  assert.equal(clampIndex(3, 0), 0);
});

test('keys move by one, by a page, or to the ends', () => {
  assert.equal(indexForKey('ArrowDown', 4, 60), 5);
  assert.equal(indexForKey('ArrowUp', 0, 60), 0);
  assert.equal(indexForKey('PageDown', 4, 60), 10);
  assert.equal(indexForKey('End', 4, 60), 59);
  assert.equal(indexForKey('Home', 4, 60), 0);
  assert.equal(indexForKey('x', 4, 60), null);
});

test('one wheel notch is one image, whatever its size', () => {
  assert.equal(indexForWheel(120, 4, 10), 5);
  assert.equal(indexForWheel(-3, 4, 10), 3);
  assert.equal(indexForWheel(0, 4, 10), 4);
});

test('multi-frame instances become one entry a frame, without a guessed position', async () => {
  const { expandFrames } = await import('../../../static/viewer/tools/stack.js');
  const stack = expandFrames([
    { sop_instance_uid: '1', frames: 1, position: [0, 0, 1] },
    { sop_instance_uid: '2', frames: 3, position: [0, 0, 2] },
  ]);
  assert.deepEqual(stack.map((e) => [e.sop_instance_uid, e.frame]),
    [['1', 1], ['2', 1], ['2', 2], ['2', 3]]);
  assert.deepEqual(stack[0].position, [0, 0, 1]);
  assert.equal(stack[2].position, null);
});
