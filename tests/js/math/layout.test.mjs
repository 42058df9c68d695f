import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignSeries, parseLayout } from '../../../static/viewer/math/layout.js';

test('layouts parse as rows by columns', () => {
  assert.deepEqual(parseLayout('2x3'), { rows: 2, columns: 3 });
  assert.deepEqual(parseLayout(' 1 × 2 '), { rows: 1, columns: 2 });
  assert.equal(parseLayout('5x1'), null);
  assert.equal(parseLayout('two by two'), null);
});

test('a bigger layout keeps what is shown and adds the next series', () => {
  assert.deepEqual(assignSeries(['b'], ['a', 'b', 'c'], 3), ['b', 'a', 'c']);
});

test('a smaller layout keeps the first viewports', () => {
  assert.deepEqual(assignSeries(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], 2), ['a', 'b']);
});

test('more viewports than series repeat the series', () => {
  assert.deepEqual(assignSeries([], ['a'], 2), ['a', 'a']);
});
