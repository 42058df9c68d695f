import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BorrowedLoader } from '../../../static/viewer/io/borrowed-loader.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A loader whose answers come only when the test gives them (a closed window's: never). */
function fakeLoader() {
  const asked = [];
  const shown = [];
  const answerLater = (kind, args) => new Promise((resolve, reject) => asked.push({ kind, args, resolve, reject }));
  return {
    asked,
    shown,
    frame: (entry) => answerLater('frame', [entry]),
    preview: (entry) => answerLater('preview', [entry]),
    loadAll: (...args) => answerLater('loadAll', args),
    setShown: (views, owner) => shown.push([views, owner]),
    heldFrame: () => undefined,
  };
}

test('it asks the window’s own loader again for a frame the lender never sent', async () => {
  const lender = fakeLoader();
  const borrowed = new BorrowedLoader(lender, '2-x');
  const entry = { sop_instance_uid: 'a.1', frame: 1 };
  const frame = borrowed.frame(entry);
  const preview = borrowed.preview(entry);
  assert.equal(lender.asked.length, 2);
  // The lender's window closes: its promises will never settle.
  const own = fakeLoader();
  borrowed.lose(own);
  assert.deepEqual(own.asked.map((a) => [a.kind, a.args[0]]), [['frame', entry], ['preview', entry]]);
  own.asked[0].resolve('own frame');
  own.asked[1].resolve(null);
  assert.equal(await frame, 'own frame');
  assert.equal(await preview, null);
  assert.equal(borrowed.calls.size, 0, 'nothing is kept waiting');
  assert.equal(borrowed.shared, own, 'the lender’s loader is no longer referred to');
  assert.deepEqual(lender.shown, [[[], '2-x']], 'a lender still open plans no longer for this window');
});

test('it rebuilds an MPR volume from the window’s own loader, ignoring what the lender hands on late', async () => {
  const lender = fakeLoader();
  const borrowed = new BorrowedLoader(lender, '2-x');
  const got = [];
  const volume = borrowed.loadAll('s', [{ sop_instance_uid: 'a.1' }], (...frame) => got.push(frame));
  const [oldCall] = lender.asked;
  oldCall.args[2]('a.0', 1, 'from the lender'); // before the switch: passed on
  const own = fakeLoader();
  borrowed.lose(own);
  oldCall.args[2]('a.1', 1, 'late'); // after it: the lender's no longer
  const [newCall] = own.asked;
  assert.equal(newCall.kind, 'loadAll');
  assert.equal(newCall.args[0], 's');
  newCall.args[2]('a.1', 1, 'own');
  newCall.resolve();
  await volume;
  assert.deepEqual(got, [['a.0', 1, 'from the lender'], ['a.1', 1, 'own']]);
  // A late answer of a lender still open changes nothing.
  oldCall.reject(new Error('too late'));
  await tick();
});

test('it passes on the lender’s answer while the lender is there, failures too', async () => {
  const lender = fakeLoader();
  const borrowed = new BorrowedLoader(lender, '2-x');
  const frame = borrowed.frame({ sop_instance_uid: 'a.1' });
  lender.asked[0].resolve('lent');
  assert.equal(await frame, 'lent');
  const failed = borrowed.frame({ sop_instance_uid: 'a.2' });
  lender.asked[1].reject(new Error('the server sent no such frame'));
  await assert.rejects(failed, /no such frame/);
  borrowed.setShown([{ uid: 'a', index: 0 }]);
  assert.deepEqual(lender.shown, [[[{ uid: 'a', index: 0 }], '2-x']]);
});
