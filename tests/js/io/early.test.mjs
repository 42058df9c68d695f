import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFirstImage, takeFrame, takeListing } from '../../../static/viewer/io/early.js';

globalThis.Worker = class {};

const instances = [0, 1, 2, 3, 4].map((i) => ({ sop_instance_uid: `1.2.${i}`, rows: 512, columns: 512 }));

test('a page that names no series asks for nothing early', () => {
  const asked = [];
  startFirstImage({ studyUid: '1.1' }, '', async (url) => asked.push(url));
  assert.deepEqual(asked, []);
});

test('a second window (?window=2) asks for nothing early: it shows its opener\'s frames', () => {
  // Regression: it fetched the opening frame although the opener's loader held it.
  const asked = [];
  startFirstImage({ studyUid: '1.1', seriesUid: '1.9' }, '?window=2', async (url) => asked.push(url));
  assert.deepEqual(asked, []);
  assert.equal(takeListing('/api/studies/1.1/series/1.9/metadata/'), null);
});

test('it asks for the opening series listing, then its middle image as JPEG-LS, and hands both over once', async () => {
  const asked = [];
  const fetcher = async (url) => {
    asked.push(url);
    return { ok: true, json: async () => ({ series_uid: '1.9', instances }) };
  };
  startFirstImage({ studyUid: '1.1', seriesUid: '1.9' }, '?series=1.9', fetcher);
  const listing = takeListing('/api/studies/1.1/series/1.9/metadata/');
  assert.equal((await listing).instances.length, 5);
  assert.equal(takeListing('/api/studies/1.1/series/1.9/metadata/'), null, 'taken once');
  assert.deepEqual(asked, [
    '/api/studies/1.1/series/1.9/metadata/',
    '/api/studies/1.1/instances/1.2.2/frames/1/raw?encoding=jls',
  ]);
  assert.equal(takeFrame('1.2.2', 1, { jls: false }), null, 'not the request the loader makes raw');
  assert.equal(takeFrame('1.2.3', 1, { jls: true }), null, 'nor another image');
  assert.ok(await takeFrame('1.2.2', 1, { jls: true }));
  assert.equal(takeFrame('1.2.2', 1, { jls: true }), null, 'taken once');
});
