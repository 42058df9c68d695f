import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MeasurementEdits, NUDGE_REST_MS } from '../../../static/viewer/tools/undo.js';

function setup(fail = false) {
  const store = new Map([[1, { id: 1, points: [[0, 0], [10, 0]] }]]);
  const calls = { update: [], remove: [], create: [], failed: [] };
  let nextId = 100;
  const edits = new MeasurementEdits({
    create: async (measurement) => {
      calls.create.push(measurement.id);
      const saved = { ...measurement, points: measurement.points.map((p) => [...p]), id: nextId };
      nextId += 1;
      store.set(saved.id, saved);
      return saved;
    },
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
  edits.created(store.get(1));
  edits.created({ id: 7, points: [[1, 1], [2, 2]] }); // deleted meanwhile: not in the store
  store.delete(7);
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

// Regression (issue 13): draw A then B, select A, Delete, Ctrl+Z removed B and left A deleted.
test('undo after a delete brings back exactly the deleted measurement', async () => {
  const { store, calls, edits } = setup();
  const a = store.get(1);
  const b = { id: 2, points: [[0, 5], [10, 5]], kind: 'length', label: 'B' };
  store.set(2, b);
  edits.created(a);
  edits.created(b);
  store.delete(1); // Delete pressed on A
  edits.deleted(a);
  await edits.undo();
  assert.deepEqual(calls.remove, [], 'B must not be removed');
  assert.ok(store.has(2), 'B is still there');
  const restored = [...store.values()].find((m) => m.id !== 2);
  assert.deepEqual(restored.points, [[0, 0], [10, 0]]);
  assert.equal(store.size, 2);
});

test('redo repeats what undo took back: create, move and delete', async () => {
  const { store, calls, edits } = setup();
  const a = store.get(1);
  edits.created(a);
  const before = a.points;
  a.points = [[5, 5], [15, 5]];
  edits.moved(a, before);
  store.delete(1);
  edits.deleted(a);
  await edits.undo(); // A back (as a new id), at its moved place
  const back = [...store.values()][0];
  assert.deepEqual(back.points, [[5, 5], [15, 5]]);
  await edits.undo(); // the move taken back, on the restored measurement
  assert.deepEqual(back.points, [[0, 0], [10, 0]]);
  assert.deepEqual(calls.update.at(-1), [back.id, [[0, 0], [10, 0]]]);
  await edits.undo(); // the drawing taken back
  assert.equal(store.size, 0);
  assert.equal(edits.canUndo, false);
  await edits.redo(); // drawn again
  assert.equal(store.size, 1);
  const again = [...store.values()][0];
  assert.deepEqual(again.points, [[0, 0], [10, 0]]);
  await edits.redo(); // moved again
  assert.deepEqual(again.points, [[5, 5], [15, 5]]);
  await edits.redo(); // deleted again
  assert.equal(store.size, 0);
  assert.equal(edits.canRedo, false);
});

test('a new change ends what can be redone', async () => {
  const { store, edits } = setup();
  const a = store.get(1);
  const before = a.points;
  a.points = [[1, 1], [11, 1]];
  edits.moved(a, before);
  await edits.undo();
  assert.equal(edits.canRedo, true);
  const again = a.points;
  a.points = [[2, 2], [12, 2]];
  edits.moved(a, again);
  assert.equal(edits.canRedo, false);
});

test('a run of nudges undone is redone to where the keys rested', async () => {
  const { store, edits } = setup();
  const a = store.get(1);
  edits.nudge(a, [1, 0]);
  edits.nudge(a, [1, 0]);
  await edits.undo();
  assert.deepEqual(a.points, [[0, 0], [10, 0]]);
  await edits.redo();
  assert.deepEqual(a.points, [[2, 0], [12, 0]]);
});

test('a refused undo keeps its step, so it can be tried again', async () => {
  const { store, calls, edits } = setup();
  const a = store.get(1);
  store.delete(1);
  edits.deleted(a);
  edits.hooks.create = async () => { throw new Error('HTTP 503'); };
  await edits.undo();
  assert.deepEqual(calls.failed, ['HTTP 503']);
  assert.equal(edits.canUndo, true);
  assert.equal(store.size, 0);
});

// Regression (review): Ctrl+Z pressed while a Delete was still on its way took back the
// drawing before it (B deleted too), and the late Delete then cleared redo.
test('undo waits for a deletion still on its way, then takes back that one', async () => {
  const { store, calls, edits } = setup();
  const a = store.get(1);
  const b = { id: 2, points: [[0, 5], [10, 5]] };
  store.set(2, b);
  edits.created(a);
  edits.created(b);
  let answer;
  const deleting = new Promise((resolve) => { answer = resolve; })
    .then(() => { store.delete(1); edits.deleted(a); });
  edits.track(deleting);
  const undone = edits.undo(); // pressed before the server answered the DELETE
  answer();
  await undone;
  assert.deepEqual(calls.remove, [], 'B stays');
  assert.equal(store.size, 2, 'A is back beside B');
  assert.equal(edits.canRedo, true);
});

test('a measurement nudged or being saved is in flight until its save is answered', async () => {
  const { store, edits } = setup();
  const m = store.get(1);
  assert.equal(edits.inFlight(1), false);
  edits.nudge(m, [1, 0]);
  assert.equal(edits.inFlight(1), true, 'nudged, not yet saved');
  edits.rest();
  assert.equal(edits.inFlight(1), true, 'its PATCH on its way');
  await edits.saving;
  assert.equal(edits.inFlight(1), false);
  const failing = setup(true);
  failing.edits.moved(failing.store.get(1), [[9, 9], [9, 9]]);
  assert.equal(failing.edits.inFlight(1), true);
  await failing.edits.saving;
  assert.equal(failing.edits.inFlight(1), false, 'a refused save is answered too');
});
