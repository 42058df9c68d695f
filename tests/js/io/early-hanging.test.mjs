import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstView, startFirstImage, takeFrame } from '../../../static/viewer/io/early.js';

globalThis.Worker = class {};

const instances = [0, 1, 2, 3, 4].map((i) => ({ sop_instance_uid: `1.2.${i}`, rows: 512, columns: 512 }));

test('a phone opens the protocol narrow form first viewport, a wide screen the wide one', () => {
  const data = { studyUid: '1.1', firstSeries: '1.9', firstImage: '1.2.4', narrowSeries: '1.8', narrowImage: '' };
  assert.deepEqual(firstView(data, false), { studyUid: '1.1', seriesUid: '1.9', sopUid: '1.2.4' });
  assert.deepEqual(firstView(data, true), { studyUid: '1.1', seriesUid: '1.8', sopUid: '' });
});

test('the image a hanging names is asked for early, not the middle one', async () => {
  const asked = [];
  const fetcher = async (url) => {
    asked.push(url);
    return { ok: true, json: async () => ({ series_uid: '1.9', instances }) };
  };
  startFirstImage({ studyUid: '1.1', seriesUid: '1.9', sopUid: '1.2.4' }, '', fetcher);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(asked[1], '/api/studies/1.1/instances/1.2.4/frames/1/raw?encoding=jls');
  assert.equal(takeFrame('1.2.2', 1, { jls: true }), null);
  assert.ok(await takeFrame('1.2.4', 1, { jls: true }));
});
