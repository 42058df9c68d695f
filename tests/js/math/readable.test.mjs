import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fixed, readable, significant } from '../../../static/viewer/math/readable.js';

test('a computed thickness is rounded for reading (issue 13: "6.666666666666667 mm")', () => {
  assert.equal(readable(6.666666666666667), '6.67');
  assert.equal(readable('6.666666666666667'), '6.67');
});

test('header values keep the digits they carry, within three significant digits', () => {
  assert.equal(readable(0.625), '0.625');
  assert.equal(readable(1.25), '1.25');
  assert.equal(readable(5), '5');
  assert.equal(readable(12.5), '12.5');
  assert.equal(readable(150.26), '150');
  assert.equal(readable(-0.5), '-0.5');
});

test('what is not a number reads as nothing', () => {
  for (const value of [null, '', 'abc', NaN, Infinity]) assert.equal(readable(value), '');
});

test('it rounds a position to one decimal without a minus on zero', () => {
  assert.equal(fixed(-174.66), '-174.7');
  assert.equal(fixed(-0.04), '0.0');
  assert.equal(fixed(-0), '0.0');
  assert.equal(fixed(12.25, 2), '12.25');
  for (const value of [null, '', 'abc', NaN, -Infinity]) assert.equal(fixed(value), '');
});

test('it rounds a zoom to two significant digits', () => {
  assert.equal(significant(0.35714), '0.36');
  assert.equal(significant(1.0833), '1.1');
  assert.equal(significant(1), '1');
  assert.equal(significant(12.4), '12');
  assert.equal(significant(123), '120');
  for (const value of [null, '', NaN, Infinity]) assert.equal(significant(value), '');
});
