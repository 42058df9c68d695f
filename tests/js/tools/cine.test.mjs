import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cineRate, fileFps } from '../../../static/viewer/tools/cine.js';

test('without a choice, cine plays at the rate the file states', () => {
  assert.deepEqual(cineRate(null, { cine_fps: 30.03 }), { fps: 30.03, source: 'file' });
});

test('a rate the person chose wins over the file', () => {
  assert.deepEqual(cineRate(12, { cine_fps: 30 }), { fps: 12, source: 'person' });
});

test('a file without a rate plays at 10 fps, as before', () => {
  assert.deepEqual(cineRate(null, { cine_fps: null }), { fps: 10, source: 'default' });
  assert.deepEqual(cineRate(null, undefined), { fps: 10, source: 'default' });
  assert.deepEqual(cineRate(Number.NaN, {}), { fps: 10, source: 'default' });
});

test('rates stay within what the screen can show', () => {
  assert.equal(cineRate(null, { cine_fps: 120 }).fps, 60);
  assert.equal(cineRate(0.2, {}).fps, 1);
  assert.equal(fileFps({ cine_fps: -5 }), null);
  assert.equal(fileFps({ cine_fps: Infinity }), null);
});
