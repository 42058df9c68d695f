import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KEY_SERIES_UID, KeyImages, keySeries } from '../../../static/viewer/state/key-images.js';
import { expandFrames } from '../../../static/viewer/tools/stack.js';

const answer = {
  mine: [{ series_uid: '1.1', sop_instance_uid: '1.1.3', frame: 1 }],
  images: [
    { series_uid: '1.1', sop_instance_uid: '1.1.3', frame: 1 },
    { series_uid: '1.2', sop_instance_uid: '1.2.9', frame: 4 },
    { series_uid: '1.1', sop_instance_uid: '1.1.1', frame: 1 },
  ],
  missing: 2,
  documents: [],
};

test('it tells one\'s own marks from other documents\' key images', () => {
  const keys = new KeyImages();
  keys.receive(answer);
  assert.equal(keys.isMine({ sop_instance_uid: '1.1.3', frame: 1 }), true);
  assert.equal(keys.isMine({ sop_instance_uid: '1.1.1', frame: 1 }), false);
  assert.equal(keys.isKey({ sop_instance_uid: '1.1.1', frame: 1 }), true);
  assert.equal(keys.isKey({ sop_instance_uid: '1.2.9', frame: 3 }), false);
  assert.equal(keys.shown, true);
});

test('it is shown when only missing references are known', () => {
  const keys = new KeyImages();
  assert.equal(keys.shown, false);
  keys.receive({ mine: [], images: [], missing: 1 });
  assert.equal(keys.shown, true);
});

test('it groups the key series\' instances by their own series', () => {
  const keys = new KeyImages();
  keys.receive(answer);
  assert.deepEqual([...keys.bySeries(['1.1.3', '1.2.9', '1.1.1'])],
    [['1.1', ['1.1.3', '1.1.1']], ['1.2', ['1.2.9']]]);
});

test('it builds the key series from the listings in the documents\' order', () => {
  const listings = new Map([
    ['1.1', { instances: [
      { sop_instance_uid: '1.1.1', frames: 1, position: [0, 0, 1] },
      { sop_instance_uid: '1.1.3', frames: 1, position: [0, 0, 3] },
    ] }],
    ['1.2', { instances: [{ sop_instance_uid: '1.2.9', frames: 8, position: [0, 0, 0] }] }],
  ]);
  const series = keySeries(answer.images, listings, 'Key images');
  assert.equal(series.series_uid, KEY_SERIES_UID);
  assert.equal(series.description, 'Key images');
  assert.deepEqual(series.instances.map((i) => [i.series_uid, i.sop_instance_uid, i.frame]),
    [['1.1', '1.1.3', 1], ['1.2', '1.2.9', 4], ['1.1', '1.1.1', 1]]);
  assert.equal(series.instances[1].position, null);
  assert.deepEqual(series.instances[0].position, [0, 0, 3]);
  // The stack keeps one entry per key frame, not every frame of the image.
  assert.deepEqual(expandFrames(series.instances).map((e) => e.frame), [1, 4, 1]);
});

test('it leaves out an image its series does not list', () => {
  const series = keySeries(answer.images, new Map(), 'Key images');
  assert.deepEqual(series.instances, []);
});
