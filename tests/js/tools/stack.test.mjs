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
