import assert from 'node:assert/strict';
import { test } from 'node:test';

import { listEntries, ownerText, pointsSummary } from '../../../static/viewer/tools/measure-list.js';

const text = { mine: 'yours', shared: 'shared', sharedBy: 'shared by %(owner)s' };
const stack = (uid, sops, extra = {}) => ({
  series_uid: uid, number: 2, description: 'Axial', modality: 'CT', ...extra,
  instances: sops.map((sop) => ({ sop_instance_uid: sop, frame: 1, pixel_spacing: [0.5, 0.5] })),
});
const measurement = (id, series, sop, extra = {}) => ({
  id, series_uid: series, sop_instance_uid: sop, frame: 1, kind: 'length',
  points: [[0, 0], [30, 40]], mine: true, shared: false, owner: 'alice', ...extra,
});

test('entries follow the strip, then the image, then the order drawn', () => {
  const stacks = new Map([['s1', stack('s1', ['a', 'b', 'c'])], ['s2', stack('s2', ['d'])]]);
  const found = listEntries(
    [measurement(1, 's2', 'd'), measurement(2, 's1', 'c'), measurement(3, 's1', 'a'), measurement(4, 's1', 'a')],
    ['s1', 's2'], stacks,
  );
  assert.deepEqual(found.map((e) => [e.measurement.id, e.image]), [[3, 1], [4, 1], [2, 3], [1, 1]]);
});

test('a length reads in mm from the image spacing', () => {
  const [entry] = listEntries([measurement(1, 's1', 'b')], ['s1'], new Map([['s1', stack('s1', ['a', 'b'])]]));
  assert.equal(entry.value, '25.0 mm');
  assert.equal(entry.image, 2);
});

test('without its series or frame an entry says where its points lie', () => {
  const [lost] = listEntries([measurement(1, 'gone', 'x')], ['s1'], new Map());
  assert.equal(lost.series, null);
  assert.equal(lost.image, null);
  assert.equal(lost.value, '(0, 0)–(30, 40)');
  const probe = measurement(2, 's1', 'a', { kind: 'probe', points: [[3.4, 7.6]] });
  const [entry] = listEntries([probe], ['s1'], new Map([['s1', stack('s1', ['a'])]]));
  assert.equal(entry.value, '(3, 8)');
});

test('a summary keeps the label and counts a freehand outline', () => {
  assert.equal(pointsSummary({ points: [[1, 2], [3, 4], [5, 6]], label: 'left lobe' }), 'left lobe (1, 2) … 3');
});

test('whose: yours, yours and shared, or shared by its owner', () => {
  assert.equal(ownerText(measurement(1), text), 'yours');
  assert.equal(ownerText(measurement(1, 's', 'a', { shared: true }), text), 'yours · shared');
  assert.equal(ownerText(measurement(1, 's', 'a', { mine: false, owner: 'bob', shared: true }), text),
    'shared by bob');
});

test('a length drawn on MPR reads in mm from its patient points, marked MPR', () => {
  const stacks = new Map([['s1', stack('s1', ['a'])]]);
  const [entry] = listEntries([measurement(1, 's1', '', {
    space: 'patient', points: [[0, 0, 0], [30, 0, 40]], label: 'lesion',
  })], ['s1'], stacks);
  assert.equal(entry.value, 'lesion 50.0 mm · MPR');
  assert.equal(entry.image, null);
  assert.equal(entry.series.series_uid, 's1');
});
