import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignSeries, layoutChoices, LAYOUTS, parseLayout,
} from '../../../static/viewer/math/layout.js';

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

// Regression (issue 13): the menu said "1 × 1" while a protocol's 1x3 was on screen.
test('the menu offers the layout on screen, even one outside the usual list', () => {
  assert.deepEqual(layoutChoices('1x3'), ['1x1', '1x2', '2x1', '1x3', '2x2', '3x3']);
  assert.equal(layoutChoices('4x4').at(-1), '4x4');
  assert.deepEqual(layoutChoices('2x2'), [...LAYOUTS]);
  assert.deepEqual(layoutChoices('nonsense'), [...LAYOUTS]);
});
