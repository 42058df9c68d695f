import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignSeries, forScreen, parseLayout,
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
const soft = { series_uid: 'ax', window: 'Abdomen' };
const lung = { series_uid: 'ax', window: 'Lung' };
const coronal = { series_uid: 'cor', window: 'Abdomen' };
const ct = {
  protocol: 'CT',
  layout: '1x3',
  viewports: [soft, lung, coronal],
  narrow: { layout: '1x1', viewports: [coronal, soft, lung] },
};

test('it leaves the hanging as it is on a wide screen', () => {
  assert.deepEqual(forScreen(ct, false), { layout: '1x3', viewports: [soft, lung, coronal] });
});

test('it shows the narrow layout and every viewport in the narrow order on a phone', () => {
  assert.deepEqual(forScreen(ct, true), { layout: '1x1', viewports: [coronal, soft, lung] });
  const twoUp = { ...ct, narrow: { layout: '2 × 1', viewports: [soft, lung] } };
  assert.equal(forScreen(twoUp, true).layout, '2x1');
});

test('it shows one viewport, the first first, when the protocol says nothing of phones', () => {
  const wideOnly = { protocol: 'CT', layout: '1x3', viewports: [soft, lung, coronal] };
  assert.deepEqual(forScreen(wideOnly, true), { layout: '1x1', viewports: [soft, lung, coronal] });
});

test('it shows one viewport when the narrow layout is too big, unreadable or has too few', () => {
  const narrowed = (layout, viewports = [soft, lung]) => ({ ...ct, narrow: { layout, viewports } });
  assert.equal(forScreen(narrowed('2x2'), true).layout, '1x1');
  assert.equal(forScreen(narrowed('phone'), true).layout, '1x1');
  assert.equal(forScreen(narrowed('1x2', [soft]), true).layout, '1x1');
  assert.equal(forScreen(narrowed('1x2', []), true).layout, '1x1');
});
