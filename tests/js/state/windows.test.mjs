import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  channelName, message, nextNumber, parseMessage, refreshedMeasurements, sameSeriesIndex,
  scrollFields, startingSeries, windowFeatures, windowUrl,
} from '../../../static/viewer/state/windows.js';

const from = { id: '2-abc', number: 2 };

test('it names one channel per study', () => {
  assert.equal(channelName('1.2.3'), 'pacsweb:1.2.3');
});

test('it reads back the messages it builds', () => {
  const entry = { sop_instance_uid: '1.9', frame: 2, frame_of_reference_uid: '1.5' };
  const scroll = message('scroll', from, scrollFields({ series_uid: '1.4', study_uid: '1.2' }, entry, 7, [1, 2, 3]));
  assert.deepEqual(parseMessage(scroll), {
    kind: 'scroll', from: '2-abc', number: 2, series_uid: '1.4', study_uid: '1.2', sop_instance_uid: '1.9',
    frame: 2, index: 7, frame_of_reference_uid: '1.5', centre: [1, 2, 3],
  });
  const cursor = message('cursor', from, { point: [0, -1.5, 30], frame_of_reference_uid: '1.5', study_uid: '1.2' });
  assert.equal(parseMessage(cursor).kind, 'cursor');
  assert.equal(parseMessage(message('measurements', from)).kind, 'measurements');
  assert.equal(parseMessage(message('hello', from)).number, 2);
});

test('it drops garbage on the channel instead of throwing', () => {
  for (const data of [null, undefined, 'scroll', 42, [], {}, { kind: 'scroll' },
    { kind: 'toString', from: 'x', number: 2 }, { kind: 'hello', from: '', number: 2 },
    { kind: 'hello', from: 'x', number: 0 }, { kind: 'hello', from: 'x', number: '2' },
    { kind: 'scroll', from: 'x', number: 2, series_uid: 5, sop_instance_uid: '1' },
    { kind: 'scroll', from: 'x', number: 2, series_uid: '1', sop_instance_uid: '1', centre: [1, 2] },
    { kind: 'scroll', from: 'x', number: 2, series_uid: '1', sop_instance_uid: '1', frame: 'one' },
    { kind: 'cursor', from: 'x', number: 2, point: [1, 2, NaN], frame_of_reference_uid: '1' },
  ]) {
    assert.equal(parseMessage(data), null, JSON.stringify(data));
  }
});

test('it never passes a cursor without a frame of reference', () => {
  const cursor = message('cursor', from, { point: [1, 2, 3], frame_of_reference_uid: '' });
  assert.equal(parseMessage(cursor), null);
  // Nor one that does not say its study: the study filter keeps it on its patient.
  const unsaid = message('cursor', from, { point: [1, 2, 3], frame_of_reference_uid: '1.5' });
  assert.equal(parseMessage(unsaid), null);
});

test('it finds the same image in a stack by instance and frame, not by index', () => {
  const stack = [
    { sop_instance_uid: 'a', frame: 1 }, { sop_instance_uid: 'b', frame: 1 }, { sop_instance_uid: 'b', frame: 2 },
  ];
  assert.equal(sameSeriesIndex(stack, { sop_instance_uid: 'b', frame: 2, index: 0 }), 2);
  assert.equal(sameSeriesIndex(stack, { sop_instance_uid: 'a' }), 0);
  assert.equal(sameSeriesIndex(stack, { sop_instance_uid: 'c', frame: 1 }), -1);
});

test('it numbers a new window with the smallest number free', () => {
  assert.equal(nextNumber([1]), 2);
  assert.equal(nextNumber([1, 2, 4]), 3);
  assert.equal(nextNumber([3]), 2);
});

test('it opens the next series not on screen, else a prior on screen', () => {
  assert.deepEqual(startingSeries(['a', 'b', 'c'], ['a']), { series: 'b' });
  assert.deepEqual(startingSeries(['a', 'b'], ['a', 'b']), { series: 'a' });
  assert.deepEqual(startingSeries(['a', 'b'], ['a', 'p'], { study_uid: 'P', series_uid: 'p' }),
    { series: 'p', prior: 'P' });
});

test('it addresses the new window by number and series, a prior by its study', () => {
  const here = 'https://pacs.example/studies/1.2/view/?protocol=none&window=2&series=x';
  const url = new URL(windowUrl(here, 3, { series: 'b' }));
  assert.equal(url.pathname, '/studies/1.2/view/');
  assert.equal(url.searchParams.get('window'), '3');
  assert.equal(url.searchParams.get('series'), 'b');
  assert.equal(url.searchParams.get('protocol'), 'none');
  const prior = new URL(windowUrl(here, 2, { series: 'p', prior: 'P' }));
  assert.equal(prior.searchParams.get('series'), null, 'not a series of this study’s strip');
  assert.equal(prior.searchParams.get('prior'), 'P');
  assert.equal(prior.searchParams.get('prior_series'), 'p');
  assert.equal(prior.searchParams.get('protocol'), 'none');
});

test('it fills another screen where the browser names the screens, else opens beside this window', () => {
  const current = { availLeft: 0, availTop: 0, availWidth: 1920, availHeight: 1040 };
  const other = { availLeft: 1920, availTop: 0, availWidth: 2560, availHeight: 1400 };
  const here = { screenX: 100, screenY: 50, outerWidth: 1200, outerHeight: 800 };
  assert.equal(windowFeatures({ screens: [current, other], currentScreen: current }, here),
    'popup,left=1920,top=0,width=2560,height=1400');
  assert.equal(windowFeatures({ screens: [current], currentScreen: current }, here),
    'popup,left=140,top=90,width=1200,height=800');
  assert.equal(windowFeatures(null, here), 'popup,left=140,top=90,width=1200,height=800');
});

test('it takes another window’s deletions and keeps what was saved here meanwhile', () => {
  const current = [{ id: 1 }, { id: 2 }, { id: 3 }];
  const before = new Set([1, 2]); // 3 was saved here while the list was on its way
  assert.deepEqual(refreshedMeasurements(current, [{ id: 1 }, { id: 4 }], before).map((m) => m.id), [1, 4, 3]);
});

test('it keeps a measurement being edited here, not the server’s older copy', () => {
  const dragged = { id: 2, points: [[5, 5]] };
  const current = [{ id: 1, points: [[0, 0]] }, dragged];
  const found = [{ id: 1, points: [[1, 1]] }, { id: 2, points: [[0, 0]] }];
  const after = refreshedMeasurements(current, found, new Set([1, 2]), (id) => id === 2);
  assert.equal(after[1], dragged, 'the very object being dragged stays');
  assert.deepEqual(after[0].points, [[1, 1]], 'the others take the server’s');
  // Deleted elsewhere meanwhile: the deletion is taken.
  assert.deepEqual(refreshedMeasurements(current, [found[0]], new Set([1, 2]), () => true).map((m) => m.id), [1]);
});

test('it passes the message that key images changed', () => {
  assert.equal(parseMessage(message('key-images', from)).kind, 'key-images');
});
