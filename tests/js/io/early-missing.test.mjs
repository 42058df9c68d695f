import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFirstImage, takeFrame, takeListing } from '../../../static/viewer/io/early.js';

globalThis.Worker = class {};

test('an opening image not yet retrieved is not asked for early: the loader waits for it', async () => {
  // Regression: while a study was retrieved, the middle image (still `missing` in the
  // listing) was asked for early; the 404 was handed to the loader, which showed it as
  // failed and never asked again once it arrived.
  const instances = [0, 1, 2, 3, 4].map((i) => ({
    sop_instance_uid: `1.2.${i}`, rows: 512, columns: 512, ...(i > 0 ? { missing: true } : {}),
  }));
  const asked = [];
  const fetcher = async (url) => {
    asked.push(url);
    return { ok: true, json: async () => ({ series_uid: '1.9', instances }) };
  };
  startFirstImage({ studyUid: '1.1', seriesUid: '1.9' }, '', fetcher);
  assert.ok(await takeListing('/api/studies/1.1/series/1.9/metadata/'), 'the listing is still handed over');
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(asked, ['/api/studies/1.1/series/1.9/metadata/']);
  assert.equal(takeFrame('1.2.2', 1, { jls: true }), null);
});
