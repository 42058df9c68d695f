import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, takeStartedWorkers } from '../../../static/viewer/io/decoder.js';

/** A stand-in for a module worker that answers each frame with its codestream reversed. */
class FakeWorker {
  static made = 0;
  constructor() {
    FakeWorker.made += 1;
    this.terminated = false;
  }
  postMessage({ id, codestream }) {
    const values = new Uint8Array(codestream).reverse().buffer;
    queueMicrotask(() => this.onmessage({ data: { id, values } }));
  }
  terminate() {
    this.terminated = true;
  }
}
globalThis.Worker = FakeWorker;

const decoded = async (decoder, bytes) => [...new Uint8Array(await decoder.decode(new Uint8Array(bytes)))];

test('the first frame goes to the worker the page started, the next to a new one', async () => {
  FakeWorker.made = 0;
  const early = new FakeWorker();
  const decoder = new FrameDecoder(2, { started: [early] });
  assert.deepEqual(await decoded(decoder, [1, 2, 3]), [3, 2, 1]);
  assert.equal(FakeWorker.made, 1, 'no worker of its own for the first frame');
  assert.deepEqual(await decoded(decoder, [4, 5]), [5, 4]);
  assert.equal(FakeWorker.made, 2, 'the pool grows to its size as frames come');
  assert.deepEqual(decoder.workers[0], early);
});

test('a started worker that already failed to load its codec fails the frames', async () => {
  const early = new FakeWorker();
  early.startFailure = 'no such file';
  const decoder = new FrameDecoder(1, { started: [early] });
  await assert.rejects(decoder.decode(new Uint8Array([1])), /did not start \(no such file\)/);
});

test('the started workers are taken once, and those beyond the pool let go', () => {
  const scope = { pacswebDecodeWorkers: [new FakeWorker(), new FakeWorker()] };
  const started = takeStartedWorkers(scope);
  assert.equal(started.length, 2);
  assert.deepEqual(takeStartedWorkers(scope), [], 'a second loader starts its own');
  const decoder = new FrameDecoder(1, { started });
  assert.equal(decoder.workers.length, 1);
  assert.ok(started[1].terminated);
});
