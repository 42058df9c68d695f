import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameLoader } from '../../../static/viewer/io/loader.js';

const SLICE = 4 * 4 * 2;

function listing(uid, count, extra = () => ({})) {
  return {
    series_uid: uid,
    instances: Array.from({ length: count }, (_, n) => ({
      sop_instance_uid: `${uid}.${n}`, frames: 1, rows: 4, columns: 4, ...extra(n),
    })),
  };
}

const frameOf = () => ({ values: new Int16Array(16) });

/** A fake server: requests wait until the test answers them, and are recorded. */
function server() {
  const requests = [];
  const answer = (request) => {
    for (const sop of request.sops) {
      if (request.signal.aborted) break;
      request.onFrame(sop, 1, frameOf());
    }
    request.resolve();
  };
  return {
    requests,
    answer,
    answerAll: async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const open = requests.filter((r) => !r.answered);
        if (!open.length) return;
        for (const request of open) {
          request.answered = true;
          answer(request);
        }
      }
    },
    fetchFrame: (sop, frame, signal) => new Promise((resolve, reject) => {
      requests.push({
        sops: [sop], signal, onFrame: (s, f, decoded) => resolve(decoded), resolve: () => {}, reject,
      });
    }),
    fetchBatch: (uid, sops, onFrame, signal, onFailure) => new Promise((resolve, reject) => {
      requests.push({ uid, sops, signal, onFrame, onFailure, resolve, reject });
    }),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test('it asks for the image on screen first, then each series’ first image, then the shown series in batches', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a', 'b'], budget: 10 ** 9, ...peer, maxRequests: 3, batchSize: 4 });
  loader.setSeries(listing('a', 20));
  loader.setSeries(listing('b', 5));
  loader.setShown([{ uid: 'a', index: 10 }]);
  const shown = loader.frame({ sop_instance_uid: 'a.10', frame: 1 });
  await tick();
  assert.deepEqual(peer.requests.map((r) => r.sops), [['a.10'], ['b.2'], ['a.11', 'a.9', 'a.12', 'a.8']]);
  assert.equal(loader.stats().requests, 3, 'no more than maxRequests at once');
  peer.answer(peer.requests[0]);
  assert.equal((await shown).values.length, 16);
  await peer.answerAll();
  const stats = loader.stats();
  assert.equal(stats.frames, 25, 'the whole study came in');
  assert.deepEqual(stats.series.b, { held: 5, images: 5, bytes: 5 * SLICE });
  assert.equal(stats.wanted, 0);
});

test('it cancels the study’s tail to make room when the person scrolls to a slice not here', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer, maxRequests: 2, batchSize: 4 });
  loader.setSeries(listing('a', 100));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await tick();
  peer.answer(peer.requests[0]);
  await tick();
  assert.equal(loader.stats().requests, 2);
  loader.setShown([{ uid: 'a', index: 80 }]);
  const far = loader.frame({ sop_instance_uid: 'a.80', frame: 1 });
  await tick();
  const last = peer.requests.at(-1);
  assert.deepEqual(last.sops, ['a.80'], 'the slice on screen is asked for at once');
  assert.equal(peer.requests.filter((r) => r.signal.aborted).length, 1, 'one request was given up for it');
  peer.answer(last);
  assert.ok(await far);
});

test('it keeps to the budget, evicting the frames farthest from what is shown, never the one on screen', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 * SLICE, ...peer, batchSize: 4 });
  loader.setSeries(listing('a', 50));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await peer.answerAll();
  assert.equal(loader.stats().frames, 10);
  assert.ok(loader.heldFrame({ sop_instance_uid: 'a.9', frame: 1 }));
  loader.setShown([{ uid: 'a', index: 40 }]);
  await peer.answerAll();
  const stats = loader.stats();
  assert.ok(stats.bytes <= 10 * SLICE, `held ${stats.bytes} bytes`);
  assert.ok(loader.heldFrame({ sop_instance_uid: 'a.40', frame: 1 }), 'the slice on screen is held');
  assert.equal(loader.heldFrame({ sop_instance_uid: 'a.0', frame: 1 }), undefined, 'the far end was let go');
});

test('it takes images as they land on the server', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer });
  loader.setSeries(listing('a', 3, (n) => (n === 2 ? { missing: true, rows: undefined } : {})));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await peer.answerAll();
  assert.equal(loader.stats().frames, 2);
  loader.landed('a', 'a.2');
  await peer.answerAll();
  assert.equal(loader.stats().frames, 3);
});

test('an image refused before it landed on the server is asked for again once it lands', async () => {
  // Regression: a 404 for an image still being retrieved stayed "failed" after it arrived.
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer });
  loader.setSeries(listing('a', 1));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await assert.rejects(
    (async () => {
      const shown = loader.frame({ sop_instance_uid: 'a.0', frame: 1 });
      await tick();
      peer.requests[0].reject(Object.assign(new Error('no such image'), { permanent: true }));
      await shown;
    })(),
    /no such image/,
  );
  loader.landed('a', 'a.0');
  const again = loader.frame({ sop_instance_uid: 'a.0', frame: 1 });
  await peer.answerAll();
  assert.ok(await again);
  assert.equal(peer.requests.length, 2);
});

test('it names an image the server cannot decode, and still loads the rest of its batch', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer, batchSize: 8 });
  loader.setSeries(listing('a', 6));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await tick();
  peer.answer(peer.requests[0]);
  await tick();
  const batch = peer.requests[1];
  const broken = loader.frame({ sop_instance_uid: 'a.3', frame: 1 });
  batch.onFailure('a.3', 1, 'unsupported transfer syntax');
  batch.answered = true;
  peer.answer({ ...batch, sops: batch.sops.filter((s) => s !== 'a.3') });
  await assert.rejects(broken, /unsupported transfer syntax/);
  await peer.answerAll();
  assert.equal(loader.stats().frames, 5);
  assert.equal(peer.requests.filter((r) => r.sops.includes('a.3')).length, 1, 'not asked for again');
});

test('it tries a dropped request again later, and gives up on a refusal at once', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer });
  loader.setSeries(listing('a', 1));
  loader.setShown([{ uid: 'a', index: 0 }]);
  const shown = loader.frame({ sop_instance_uid: 'a.0', frame: 1 });
  await tick();
  peer.requests[0].reject(new Error('network error'));
  await tick();
  assert.equal(peer.requests.length, 1, 'not at once into the same trouble');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal(peer.requests.length, 2, 'asked again after a pause');
  peer.requests[1].reject(Object.assign(new Error('no such image'), { permanent: true }));
  await assert.rejects(shown, /no such image/);
});

test('it lists every series at once and asks for their first images before the rest', async () => {
  const peer = server();
  const listings = new Map();
  let loader = null;
  const listSeries = (uid) => new Promise((resolve) => {
    listings.set(uid, () => {
      loader.setSeries(listing(uid, 9));
      resolve();
    });
  });
  loader = new FrameLoader({ seriesUids: ['a', 'b', 'c'], budget: 10 ** 9, ...peer, listSeries, maxRequests: 6 });
  loader.start();
  assert.deepEqual([...listings.keys()], ['a', 'b', 'c'], 'all three asked for at once');
  listings.get('a')();
  loader.setShown([{ uid: 'a', index: 4 }]);
  await tick();
  assert.deepEqual(peer.requests.map((r) => r.sops), [['a.4']], 'nothing more until b and c are listed');
  listings.get('c')();
  listings.get('b')();
  await tick();
  assert.deepEqual(peer.requests.slice(1, 3).map((r) => r.sops), [['b.4'], ['c.4']]);
  assert.ok(peer.requests[3].sops.length > 1, 'then the shown series in batches');
});

test('it does not cut off a request that has brought all its frames and is ending its body', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 4 * SLICE, ...peer, batchSize: 2 });
  loader.setSeries(listing('a', 40));
  loader.setShown([{ uid: 'a', index: 0 }]);
  await tick();
  peer.answer(peer.requests[0]);
  await tick();
  const batch = peer.requests[1];
  for (const sop of batch.sops) batch.onFrame(sop, 1, frameOf()); // all in, body not ended yet
  loader.setShown([{ uid: 'a', index: 39 }]); // those frames fall out of the plan
  await tick();
  assert.equal(batch.signal.aborted, false);
  batch.resolve();
});

test('it waits for a slow listing no longer than its patience', async () => {
  const peer = server();
  let loader = null;
  const listSeries = (uid) => (uid === 'slow' ? new Promise(() => {}) : Promise.resolve(loader.setSeries(listing(uid, 20))));
  loader = new FrameLoader({ seriesUids: ['a', 'slow'], budget: 10 ** 9, ...peer, listSeries });
  loader.start(50);
  loader.setShown([{ uid: 'a', index: 10 }]);
  await tick();
  assert.deepEqual(peer.requests.map((r) => r.sops.length), [1], 'what is on screen only');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.ok(peer.requests.length > 1, 'then the rest of the shown series, without the slow listing');
});

test('it builds a volume from the frames it holds and fetches only the rest', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 3 * SLICE, ...peer });
  const series = listing('a', 80);
  loader.setSeries(series);
  loader.setShown([{ uid: 'a', index: 40 }]);
  await peer.answerAll();
  assert.equal(loader.stats().frames, 3);
  const got = [];
  const volume = loader.loadAll(
    'a', series.instances.map((i) => ({ ...i, frame: 1 })), (sop) => got.push(sop), new AbortController().signal,
  );
  assert.equal(got.length, 3, 'the held frames at once');
  await tick();
  const asked = peer.requests.slice(-2).flatMap((r) => r.sops);
  assert.ok(asked.every((sop) => !['a.39', 'a.40', 'a.41'].includes(sop)), 'not the held ones again');
  await peer.answerAll();
  await volume;
  assert.equal(new Set(got).size, 80);
  assert.ok(loader.stats().bytes <= 3 * SLICE, 'the volume does not count against the budget');
});

test('it names the first image a volume could not have', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 0, ...peer });
  const series = listing('a', 4);
  loader.setSeries(series);
  const volume = loader.loadAll('a', series.instances.map((i) => ({ ...i, frame: 1 })), () => {}, new AbortController().signal);
  await tick();
  const [request] = peer.requests;
  request.onFailure('a.2', 1, 'cannot decode JPEG Extended');
  request.resolve();
  await assert.rejects(volume, /image a\.2, frame 1: cannot decode JPEG Extended/);
});

test('it brings a large image reduced first, then whole, and lets the reduced one go', async () => {
  const peer = server();
  const asked = [];
  let answerPreview;
  const fetchReduced = (sop, frame, signal) => new Promise((resolve) => {
    asked.push(sop);
    answerPreview = () => resolve({ values: new Uint16Array(4), reducedBy: 3 });
    signal.addEventListener('abort', () => resolve({ values: new Uint16Array(4), reducedBy: 3 }));
  });
  const loader = new FrameLoader({ seriesUids: ['dx'], budget: 10 ** 9, ...peer, fetchReduced });
  loader.setSeries(listing('dx', 1, () => ({ rows: 3000, columns: 3000 })));
  loader.setShown([{ uid: 'dx', index: 0 }]);
  const entry = { sop_instance_uid: 'dx.0', frame: 1, rows: 3000, columns: 3000 };
  const full = loader.frame(entry);
  const preview = loader.preview(entry);
  await tick();
  assert.deepEqual(asked, ['dx.0']);
  assert.equal(peer.requests.length, 0, 'the frame waits for its rendition: they would share the link');
  answerPreview();
  assert.equal((await preview).reducedBy, 3);
  let stats = loader.stats();
  assert.equal(stats.previews, 1);
  assert.equal(stats.frames, 0, 'a rendition is no frame of the series');
  assert.equal(stats.bytes, 8, 'but it counts against the budget');
  assert.equal(stats.series.dx.held, 0);
  await tick();
  assert.deepEqual(peer.requests.map((r) => r.sops), [['dx.0']], 'then the frame itself');
  await peer.answerAll();
  await full;
  await tick();
  stats = loader.stats();
  assert.deepEqual([stats.frames, stats.previews, stats.bytes], [1, 0, 32], 'the rendition dropped');
  assert.equal(await loader.preview(entry), null, 'no rendition once the frame is here');
});

test('it takes a rendition the server did not reduce as the frame itself', async () => {
  const peer = server();
  const fetchReduced = async () => ({ values: new Int16Array(16), reducedBy: 1 });
  const loader = new FrameLoader({ seriesUids: ['dx'], budget: 10 ** 9, ...peer, fetchReduced });
  loader.setSeries(listing('dx', 1, () => ({ rows: 2048, columns: 2048 })));
  loader.setShown([{ uid: 'dx', index: 0 }]);
  const entry = { sop_instance_uid: 'dx.0', frame: 1, rows: 2048, columns: 2048 };
  const full = loader.frame(entry);
  assert.equal(await loader.preview(entry), null);
  assert.equal((await full).values.length, 16);
  await tick();
  assert.equal(peer.requests.length, 0, 'nothing asked twice');
  assert.equal(loader.stats().previews, 0);
});

test('it asks for no rendition of a small image, nor without a way to ask', async () => {
  const peer = server();
  const asked = [];
  const fetchReduced = async (sop) => { asked.push(sop); return { values: new Int16Array(1), reducedBy: 2 }; };
  const loader = new FrameLoader({ seriesUids: ['ct'], budget: 10 ** 9, ...peer, fetchReduced });
  loader.setSeries(listing('ct', 3));
  loader.setShown([{ uid: 'ct', index: 1 }]);
  assert.equal(await loader.preview({ sop_instance_uid: 'ct.1', frame: 1, rows: 4, columns: 4 }), null);
  const plain = new FrameLoader({ seriesUids: ['dx'], budget: 10 ** 9, ...peer });
  plain.setSeries(listing('dx', 1, () => ({ rows: 3000, columns: 3000 })));
  plain.setShown([{ uid: 'dx', index: 0 }]);
  assert.equal(await plain.preview({ sop_instance_uid: 'dx.0', frame: 1, rows: 3000, columns: 3000 }), null);
  await tick();
  assert.deepEqual(asked, []);
  assert.ok(peer.requests.some((r) => r.sops.includes('dx.0')), 'the frame is asked for at once');
});

test('it sends a large image’s frame as soon as its rendition’s bytes are in, while it decodes', async () => {
  const peer = server();
  let arrive;
  const fetchReduced = (sop, frame, signal, onArrived) => new Promise(() => { arrive = onArrived; });
  const loader = new FrameLoader({ seriesUids: ['dx'], budget: 10 ** 9, ...peer, fetchReduced });
  loader.setSeries(listing('dx', 1, () => ({ rows: 3000, columns: 3000 })));
  loader.setShown([{ uid: 'dx', index: 0 }]);
  await tick();
  assert.equal(peer.requests.length, 0);
  arrive();
  await tick();
  assert.deepEqual(peer.requests.map((r) => r.sops), [['dx.0']]);
});

test('it names the series of each single frame it asks for (a prior is fetched under its own study)', async () => {
  const asked = [];
  const loader = new FrameLoader({
    seriesUids: ['current'],
    budget: 10 ** 9,
    fetchFrame: (sop, frame, signal, seriesUid) => {
      asked.push([sop, seriesUid]);
      return Promise.resolve(frameOf());
    },
    fetchBatch: () => new Promise(() => {}),
  });
  loader.setSeries(listing('prior-series', 3));
  loader.setShown([{ uid: 'prior-series', index: 1 }]);
  await tick();
  assert.deepEqual(asked[0], ['prior-series.1', 'prior-series']);
});

test('it holds what every window shows, the opener’s first, and lets a closed window’s views go', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a', 'b'], budget: 3 * SLICE, ...peer, batchSize: 1 });
  loader.setSeries(listing('a', 50));
  loader.setSeries(listing('b', 50));
  loader.setShown([{ uid: 'a', index: 0 }]);
  loader.setShown([{ uid: 'b', index: 30 }], 'window-2');
  loader.setShown([{ uid: 'a', index: 40 }]); // the opener moves on: the second window's view stays
  await peer.answerAll();
  assert.deepEqual(loader.shown.map((v) => v.uid), ['a', 'b'], 'the opener’s view first');
  assert.ok(loader.heldFrame({ sop_instance_uid: 'a.40', frame: 1 }));
  assert.ok(loader.heldFrame({ sop_instance_uid: 'b.30', frame: 1 }), 'the second window’s image is held too');
  loader.setShown([], 'window-2'); // it closed
  assert.deepEqual(loader.shown.map((v) => v.uid), ['a']);
  await peer.answerAll();
  assert.equal(loader.heldFrame({ sop_instance_uid: 'b.30', frame: 1 }), undefined, 'its image made room');
});

test('it fetches a "Key images" entry from its own series, so no window’s key list is needed to find it', async () => {
  const peer = server();
  const asked = [];
  const fetchFrame = (sop, frame, signal, seriesUid) => {
    asked.push(['frame', seriesUid, [sop]]);
    return peer.fetchFrame(sop, frame, signal);
  };
  const fetchBatch = (uid, sops, ...rest) => {
    asked.push(['batch', uid, sops]);
    return peer.fetchBatch(uid, sops, ...rest);
  };
  const loader = new FrameLoader({ seriesUids: [], budget: 10 ** 9, ...peer, fetchFrame, fetchBatch });
  // A key series of window 2: references to images of the series 'a' and 'b'.
  const keys = listing('key-images:2', 4, (n) => ({ sop_instance_uid: `${n < 2 ? 'a' : 'b'}.${n}`, series_uid: n < 2 ? 'a' : 'b' }));
  loader.setSeries(keys);
  loader.setShown([{ uid: 'key-images:2', index: 0 }], '2');
  await peer.answerAll();
  assert.deepEqual(asked[0], ['frame', 'a', ['a.0']], 'the image on screen, from its own series');
  for (const [, uid, sops] of asked) {
    assert.ok(sops.every((sop) => sop.startsWith(`${uid}.`)), `${sops} asked of ${uid}`);
  }
  assert.equal(loader.stats().frames, 4, 'every key image came');
  // A volume of references likewise (never asked of the synthetic series).
  asked.length = 0;
  const fresh = new FrameLoader({ seriesUids: [], budget: 10 ** 9, ...peer, fetchFrame, fetchBatch });
  const volume = fresh.loadAll('key-images:2', keys.instances.map((i) => ({ ...i, frame: 1 })), () => {},
    new AbortController().signal);
  await peer.answerAll();
  await volume;
  assert.deepEqual(asked.map(([, uid, sops]) => [uid, sops]), [['a', ['a.0', 'a.1']], ['b', ['b.2', 'b.3']]]);
});

test('it forgets a closed window’s series: its frames leave the plan', async () => {
  const peer = server();
  const loader = new FrameLoader({ seriesUids: ['a'], budget: 10 ** 9, ...peer });
  loader.setSeries(listing('a', 2));
  loader.setSeries(listing('key-images:2', 2, (n) => ({ sop_instance_uid: `c.${n}`, series_uid: 'c' })));
  loader.dropSeries('key-images:2');
  await peer.answerAll();
  assert.equal(loader.knows('key-images:2'), false);
  assert.ok(peer.requests.every((r) => r.sops.every((sop) => sop.startsWith('a.'))));
});
