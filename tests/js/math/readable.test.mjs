import assert from 'node:assert/strict';
import { test } from 'node:test';

import { readable } from '../../../static/viewer/math/readable.js';

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
