import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StudyState } from '../../../static/viewer/state/study.js';

test('it keeps measurements saved while the study’s list was on its way', () => {
  const study = new StudyState();
  study.add({ id: 7, kind: 'length' });
  study.merge([{ id: 1, kind: 'angle' }, { id: 7, kind: 'length' }]);
  assert.deepEqual(study.measurements.map((m) => m.id), [1, 7]);
  study.add({ id: 9, kind: 'probe' });
  study.merge([{ id: 1, kind: 'angle' }]);
  assert.deepEqual(study.measurements.map((m) => m.id), [1, 7, 9]);
});

test('it lets go of the selection when the selected measurement is deleted', () => {
  const study = new StudyState();
  study.merge([{ id: 1 }, { id: 2 }]);
  study.select(2);
  assert.equal(study.selection().id, 2);
  study.forget(1);
  assert.equal(study.selected, 2, 'another one deleted: the selection stays');
  study.forget(2);
  assert.equal(study.selected, null);
  assert.equal(study.selection(), undefined);
  assert.deepEqual(study.measurements, []);
});

test('it counts each series’ progress from live messages', () => {
  const study = new StudyState();
  study.receive({ type: 'snapshot', series: [{ uid: 'a', total: 3, done: 1, failed: 0 }] });
  study.receive({ type: 'progress', series: 'a', total: 3, done: 2, failed: 0 });
  assert.equal(study.progress.get('a').done, 2);
});
