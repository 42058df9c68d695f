import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLORMAPS, colormapTable } from '../../../static/viewer/math/colormaps.js';

const at = (table, i) => Array.from(table.slice(i * 4, i * 4 + 4));

test('grey is the identity', () => {
  const table = colormapTable('grey');
  for (const i of [0, 17, 128, 255]) assert.deepEqual(at(table, i), [i, i, i, 255]);
});

test('hot iron runs black, red, yellow, white', () => {
  const table = colormapTable('hot-iron');
  assert.deepEqual(at(table, 0), [0, 0, 0, 255]);
  assert.deepEqual(at(table, 85), [255, 0, 0, 255]);
  assert.deepEqual(at(table, 170), [255, 255, 0, 255]);
  assert.deepEqual(at(table, 255), [255, 255, 255, 255]);
});

test('rainbow runs from blue to red', () => {
  const table = colormapTable('rainbow');
  assert.deepEqual(at(table, 0), [0, 0, 255, 255]);
  assert.deepEqual(at(table, 255), [255, 0, 0, 255]);
});

test('every map is a full table and unknown names fall back to grey', () => {
  for (const name of COLORMAPS) assert.equal(colormapTable(name).length, 1024);
  assert.deepEqual(colormapTable('nope'), colormapTable('grey'));
});
