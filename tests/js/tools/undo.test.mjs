import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MeasurementEdits, NUDGE_REST_MS } from '../../../static/viewer/tools/undo.js';

function setup(fail = false) {
  const store = new Map([[1, { id: 1, points: [[0, 0], [10, 0]] }]]);
  const calls = { update: [], remove: [], failed: [] };
  const edits = new MeasurementEdits({
    update: async (id, body) => {
      calls.update.push([id, body.points]);
      if (fail) throw new Error('HTTP 500');
      return { updated_at: 'now' };
    },
    remove: async (id) => { calls.remove.push(id); store.delete(id); },
    find: (id) => store.get(id),
    changed: () => {},
    failed: (message) => calls.failed.push(message),
  });
  return { store, calls, edits };
}

const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

test('a move is saved, and undo puts the points back and saves them', async () => {
  const { store, calls, edits } = setup();
  const m = store.get(1);
  const before = m.points;
  m.points = [[5, 5], [15, 5]];
  edits.moved(m, before);
  await edits.saving;
  assert.deepEqual(calls.update, [[1, [[5, 5], [15, 5]]]]);
  assert.equal(m.updated_at, 'now');
  await edits.undo();
  assert.deepEqual(m.points, [[0, 0], [10, 0]]);
  assert.deepEqual(calls.update.at(-1), [1, [[0, 0], [10, 0]]]);
  assert.equal(edits.canUndo, false);
});

test('a run of nudges is one save once the keys rest, and one undo step', async () => {
  const { store, calls, edits } = setup();
  const m = store.get(1);
  edits.nudge(m, [1, 0]);
  edits.nudge(m, [1, 0]);
  edits.nudge(m, [0, 1]);
  assert.deepEqual(m.points, [[2, 1], [12, 1]]);
  assert.equal(calls.update.length, 0);
  await wait(NUDGE_REST_MS + 50);
  await edits.saving;
  assert.deepEqual(calls.update, [[1, [[2, 1], [12, 1]]]]);
  await edits.undo();
  assert.deepEqual(m.points, [[0, 0], [10, 0]]);
});

test('undo after drawing deletes the new measurement, skipping ones gone since', async () => {
  const { store, calls, edits } = setup();
  edits.created(1);
  edits.created(7); // deleted meanwhile: not in the store
  await edits.undo();
  assert.deepEqual(calls.remove, [1]);
  assert.equal(store.size, 0);
});

test('a refused save puts the drawing back where the server has it', async () => {
  const { store, calls, edits } = setup(true);
  const m = store.get(1);
  const before = m.points;
  m.points = [[3, 3], [13, 3]];
  edits.moved(m, before);
  await edits.saving;
  assert.deepEqual(m.points, [[0, 0], [10, 0]]);
  assert.deepEqual(calls.failed, ['HTTP 500']);
});
