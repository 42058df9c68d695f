import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overflowed } from '../../../static/viewer/shell/overflow.js';

const groups = [
  { id: 'series', width: 40, priority: Infinity },
  { id: 'layout', width: 100, priority: 3 },
  { id: 'measure', width: 200, priority: 5 },
  { id: 'transform', width: 120, priority: 1 },
  { id: 'export', width: 80, priority: 2 },
];

test('everything fits: nothing moves and no more button is needed', () => {
  assert.deepEqual(overflowed(groups, 540, 32), new Set());
  assert.deepEqual(overflowed(groups, 1000, 32), new Set());
  assert.deepEqual(overflowed([], 0, 32), new Set());
});

test('it moves the lowest priority groups first', () => {
  // 540 do not fit in 500; moving transform (120) leaves 420 + 32 for the more button.
  assert.deepEqual(overflowed(groups, 500, 32), new Set(['transform']));
  // 420 + 32 = 452 do not fit in 450; export goes too: 340 + 32.
  assert.deepEqual(overflowed(groups, 450, 32), new Set(['transform', 'export']));
  assert.deepEqual(overflowed(groups, 300, 32), new Set(['transform', 'export', 'layout']));
});

test('the more button takes room of its own', () => {
  // Without the button 420 would fit in 430; with it (20 px) export must move as well.
  assert.deepEqual(overflowed(groups, 430, 0), new Set(['transform']));
  assert.deepEqual(overflowed(groups, 430, 20), new Set(['transform', 'export']));
  assert.deepEqual(overflowed(groups, 440, 20), new Set(['transform']));
});

test('ties keep the earlier groups', () => {
  const even = [
    { id: 'a', width: 50, priority: 1 },
    { id: 'b', width: 50, priority: 1 },
    { id: 'c', width: 50, priority: 1 },
  ];
  assert.deepEqual(overflowed(even, 140, 10), new Set(['c']));
  assert.deepEqual(overflowed(even, 100, 10), new Set(['c', 'b']));
});

test('groups of priority Infinity never move, even when the rest do not fit', () => {
  assert.deepEqual(overflowed(groups, 100, 32), new Set(['transform', 'export', 'layout', 'measure']));
  assert.deepEqual(overflowed(groups, 10, 32), new Set(['transform', 'export', 'layout', 'measure']));
  const pinned = [{ id: 'x', width: 500, priority: Infinity }];
  assert.deepEqual(overflowed(pinned, 100, 32), new Set());
});

test('a lower priority group moves before a more important one even if smaller', () => {
  const mixed = [
    { id: 'big', width: 300, priority: 2 },
    { id: 'small', width: 20, priority: 1 },
  ];
  assert.deepEqual(overflowed(mixed, 310, 0), new Set(['small']));
  assert.deepEqual(overflowed(mixed, 305, 10), new Set(['small', 'big']));
});

test('it leaves the groups it was given alone', () => {
  const copy = structuredClone(groups);
  overflowed(groups, 200, 32);
  assert.deepEqual(groups, copy);
});
