import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpeningHanging, sameHanging, seriesTitle } from '../../../static/viewer/state/opening.js';
import { applyMessage } from '../../../static/viewer/tools/progress.js';

const CT = {
  protocol: 'CT',
  layout: '1x3',
  viewports: [{ series_uid: 'ax', window: 'Abdomen' }, { series_uid: 'ax', window: 'Lung' }, { series_uid: 'cor', window: 'Abdomen' }],
  narrow: { layout: '1x1', viewports: [{ series_uid: 'ax', window: 'Abdomen' }] },
};
const EARLY = { ...CT, layout: '1x2', viewports: CT.viewports.slice(0, 2) };

/** An opening of a study with a localizer, an axial and a coronal series. */
function opening({ follow = true, begun = ['loc'] } = {}) {
  return new OpeningHanging({ follow, series: ['loc', 'ax', 'cor'], begun });
}

function snapshot(done, job = { state: 'running' }) {
  const totals = { loc: 1, ax: 10, cor: 8 };
  return {
    type: 'snapshot',
    job,
    series: Object.entries(totals).map(([uid, total]) => ({ uid, total, done: done[uid] || 0, failed: 0 })),
  };
}

/** Feed messages in turn; what ``receive`` said after each. */
function feed(watch, messages) {
  let progress = new Map();
  return messages.map((message) => {
    progress = applyMessage(progress, message);
    return watch.receive(message, progress);
  });
}

const progress = (series, done, total) => ({ type: 'progress', series, done, total });

test('it writes the strip title as the page does', () => {
  assert.equal(seriesTitle({ number: 2, modality: 'CT' }), '2 CT');
  assert.equal(seriesTitle({ number: null, modality: 'MR' }), ' MR');
  assert.equal(seriesTitle({ number: 3, modality: '' }), '3 ');
});

test('it tells hangings apart by what goes where, on either screen', () => {
  assert.ok(sameHanging(CT, structuredClone(CT)));
  assert.ok(sameHanging(null, null));
  assert.ok(!sameHanging(CT, EARLY));
  assert.ok(!sameHanging(CT, null));
  assert.ok(!sameHanging(CT, { ...CT, narrow: { layout: '1x1', viewports: CT.viewports } }));
});

test('it asks again when a series begins to arrive, once for each', () => {
  const watch = opening();
  assert.deepEqual(feed(watch, [
    snapshot({ loc: 1 }),
    progress('ax', 1, 10),
    progress('ax', 2, 10),
    progress('cor', 1, 8),
    progress('cor', 2, 8),
  ]), [false, true, false, true, false]);
});

test('it asks at connection for series that began after the page was made', () => {
  assert.deepEqual(feed(opening(), [snapshot({ loc: 1, ax: 3 })]), [true]);
  assert.deepEqual(feed(opening({ begun: ['loc', 'ax', 'cor'] }), [snapshot({ loc: 1, ax: 3, cor: 1 })]), [false]);
});

test('it replaces the hanging only once every series has begun', () => {
  const watch = opening();
  feed(watch, [snapshot({ loc: 1 }), progress('ax', 1, 10)]);
  assert.equal(watch.replaces(EARLY, EARLY), false);
  assert.equal(watch.replaces(EARLY, CT), false, 'the coronal has not begun');
  feed(watch, [progress('cor', 1, 8)]);
  assert.equal(watch.replaces(EARLY, CT), true);
  assert.equal(watch.replaces(CT, CT), false, 'what is on screen already');
  assert.equal(watch.replaces(null, CT), true, 'no protocol on screen');
  assert.equal(watch.replaces(null, null), false);
});

test('it never replaces what the person chose', () => {
  const watch = opening();
  watch.takeOver();
  feed(watch, [snapshot({ loc: 1, ax: 1, cor: 1 })]);
  assert.equal(watch.replaces(EARLY, CT), false);
});

test('it never replaces a series or "no protocol" asked for in the address', () => {
  const watch = opening({ follow: false });
  assert.deepEqual(feed(watch, [snapshot({ loc: 1, ax: 1, cor: 1 })]), [true], 'labels still come');
  assert.equal(watch.replaces(null, CT), false);
});

test('it settles when the job ends, though a series never began', () => {
  const watch = opening();
  assert.deepEqual(feed(watch, [
    snapshot({ loc: 1, ax: 4 }),
    { type: 'job', state: 'partial', error: 'the node refused' },
    { type: 'job', state: 'partial', error: '' },
  ]), [true, true, false]);
  assert.equal(watch.replaces(EARLY, CT), true);
});

test('it settles when every image of a series has failed', () => {
  const watch = opening();
  feed(watch, [snapshot({ loc: 1, ax: 1 })]);
  assert.equal(watch.settled, false);
  assert.deepEqual(feed(watch, [{ type: 'progress', series: 'cor', done: 0, total: 8, failed: 8 }]), [true]);
  assert.equal(watch.settled, true);
});

test('it asks nothing of a study here already: it is settled from the start', () => {
  const watch = opening({ begun: ['loc', 'ax', 'cor'] });
  assert.equal(watch.settled, true);
  assert.deepEqual(feed(watch, [snapshot({ loc: 1, ax: 10, cor: 8 }, { state: 'done' })]), [false]);
});

test('it asks again at the next message after an answer was missed', () => {
  const watch = opening();
  feed(watch, [snapshot({ loc: 1, ax: 1, cor: 1 })]);
  watch.missed();
  assert.deepEqual(feed(watch, [progress('ax', 2, 10), progress('ax', 3, 10)]), [true, false]);
});
