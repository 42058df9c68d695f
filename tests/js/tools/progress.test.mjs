import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyMessage, backoffSeconds, focusMessage, keptIndex, progressView,
} from '../../../static/viewer/tools/progress.js';

test('reconnection waits double from 1 s and stop growing at 30 s', () => {
  const none = () => 0;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 9].map((a) => backoffSeconds(a, none)), [1, 2, 4, 8, 16, 30, 30, 30]);
  assert.equal(backoffSeconds(0, () => 1), 1.2);
});

test('a snapshot sets every series and progress updates one', () => {
  let series = applyMessage(new Map(), {
    type: 'snapshot', job: null,
    series: [{ uid: 'a', total: 3, done: 0, failed: 0 }, { uid: 'b', total: 2, done: 2, failed: 0 }],
  });
  series = applyMessage(series, { type: 'progress', series: 'a', done: 1, total: 3, bytes: 10 });
  assert.deepEqual(series.get('a'), { uid: 'a', total: 3, done: 1, failed: 0, bytes: 10 });
  assert.equal(series.get('b').done, 2);
  const unchanged = applyMessage(series, { type: 'job', state: 'done' });
  assert.deepEqual([...unchanged.entries()], [...series.entries()]);
});

test('a bar says done over total and whether the series is complete or failed', () => {
  assert.deepEqual(progressView({ total: 4, done: 1 }), { percent: 25, label: '1 / 4', state: 'loading', failed: 0 });
  assert.equal(progressView({ total: 4, done: 4 }).state, 'complete');
  assert.equal(progressView({ total: 4, done: 3, failed: 1 }).state, 'failed');
  assert.equal(progressView({ total: 0, done: 0 }).percent, 0);
});

test('focus lists the active series first, each once, with its listing position', () => {
  assert.deepEqual(
    focusMessage([
      { seriesUid: 'b', listingPosition: 7 }, { seriesUid: 'a', listingPosition: 0 },
      { seriesUid: 'b', listingPosition: 2 }, { seriesUid: null, listingPosition: null },
      { seriesUid: 'c', listingPosition: null },
    ]),
    { type: 'focus', series: ['b', 'a', 'c'], listing_position: { b: 7, a: 0 } },
  );
});

test('a refreshed series keeps the image on screen', () => {
  const before = [{ sop_instance_uid: '1', frame: 1 }, { sop_instance_uid: '2', frame: 1 }];
  const after = [
    { sop_instance_uid: '0', frame: 1 }, { sop_instance_uid: '1', frame: 1 },
    { sop_instance_uid: '2', frame: 1 },
  ];
  assert.equal(keptIndex(before, after, 1), 2);
  assert.equal(keptIndex(before, [{ sop_instance_uid: 'x', frame: 1 }], 1), 0);
  assert.equal(keptIndex([], after, 5), 2);
});

