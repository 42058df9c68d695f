import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BREADTH, FIRST_IMAGES, ON_SCREEN, SHOWN_SERIES, chooseBudget, estimatedBytes, frameKey, loadPlan,
  nearestFirst, previewKey, reducedSize, reductionFactor, wantsPreview,
} from '../../../static/viewer/state/load-plan.js';

const MB = 1024 * 1024;

function series(uid, count, extra = () => ({})) {
  return {
    uid,
    entries: Array.from({ length: count }, (_, n) => ({
      sop_instance_uid: `${uid}.${n}`, frame: 1, rows: 512, columns: 512, ...extra(n),
    })),
  };
}

const SLICE = 512 * 512 * 2;
const plenty = 10 ** 12;

test('it goes outwards from the slice shown, the scrolling side first at each distance', () => {
  assert.deepEqual([...nearestFirst(5, 10)], [5, 6, 4, 7, 3, 8, 2, 9, 1, 0]);
  assert.deepEqual([...nearestFirst(5, 10, -1)], [5, 4, 6, 3, 7, 2, 8, 1, 9, 0]);
  assert.deepEqual([...nearestFirst(0, 3)], [0, 1, 2]);
  assert.deepEqual([...nearestFirst(9, 0)], []);
});

test('it loads what is on screen, then each series’ first image in strip order, then the shown series nearest first, then the rest breadth-first', () => {
  const study = [series('a', 5), series('b', 3), series('c', 4)];
  const plan = loadPlan({ series: study, shown: [{ uid: 'b', index: 0 }], budget: plenty });
  const order = plan.map((p) => `${p.uid}${p.index}`);
  assert.deepEqual(order.slice(0, 3), ['b0', 'a2', 'c1'], 'shown, then a and c open on their middle image');
  assert.deepEqual(order.slice(3, 5), ['b1', 'b2'], 'the shown series next');
  assert.deepEqual(order.slice(5), ['a3', 'c2', 'a1', 'c0', 'a4', 'c3', 'a0'], 'then one of each in turn');
  assert.deepEqual(plan.slice(0, 5).map((p) => p.phase), [ON_SCREEN, FIRST_IMAGES, FIRST_IMAGES, SHOWN_SERIES, SHOWN_SERIES]);
  assert.equal(plan.at(-1).phase, BREADTH);
  assert.equal(new Set(plan.map((p) => p.key)).size, 12, 'every frame once');
});

test('it puts the active viewport’s series before the other viewports’ series', () => {
  const study = [series('a', 4), series('b', 4)];
  const plan = loadPlan({
    series: study, shown: [{ uid: 'b', index: 3, direction: -1 }, { uid: 'a', index: 0 }], budget: plenty,
  });
  assert.deepEqual(plan.map((p) => `${p.uid}${p.index}`), ['b3', 'a0', 'b2', 'b1', 'b0', 'a1', 'a2', 'a3']);
});

test('it re-orders when the person scrolls: the new slice and its neighbours come first', () => {
  const study = [series('a', 100)];
  const before = loadPlan({ series: study, shown: [{ uid: 'a', index: 50 }], budget: plenty });
  const after = loadPlan({ series: study, shown: [{ uid: 'a', index: 90, direction: 1 }], budget: plenty });
  assert.deepEqual(before.slice(0, 3).map((p) => p.index), [50, 51, 49]);
  assert.deepEqual(after.slice(0, 4).map((p) => p.index), [90, 91, 89, 92]);
});

test('it stops at the budget, keeping the best, but always holds what is on screen', () => {
  const study = [series('a', 10), series('b', 10)];
  const plan = loadPlan({ series: study, shown: [{ uid: 'a', index: 4 }, { uid: 'b', index: 9 }], budget: 3 * SLICE });
  assert.deepEqual(plan.map((p) => `${p.uid}${p.index}`), ['a4', 'b9', 'a5']);
  const tiny = loadPlan({ series: study, shown: [{ uid: 'a', index: 4 }, { uid: 'b', index: 9 }], budget: 0 });
  assert.deepEqual(tiny.map((p) => p.phase), [ON_SCREEN, ON_SCREEN], 'both viewports keep their image');
});

test('it counts a held frame at its real size', () => {
  const study = [series('a', 10)];
  const small = (key) => (key.startsWith('a.') ? 1000 : SLICE);
  const plan = loadPlan({ series: study, shown: [{ uid: 'a', index: 0 }], budget: 5000, bytes: small });
  assert.equal(plan.length, 5);
});

test('it skips images not on the server yet, objects without pixels and frames that failed', () => {
  const study = [series('a', 5, (n) => (n === 1 ? { missing: true, rows: undefined } : n === 3 ? { rows: null } : {}))];
  const failed = frameKey(study[0].entries[4]);
  const plan = loadPlan({ series: study, shown: [{ uid: 'a', index: 2 }], budget: plenty, skip: (key) => key === failed });
  assert.deepEqual(plan.map((p) => p.index), [2, 0]);
});

test('it names each frame of a multi-frame image on its own', () => {
  const cine = { uid: 'u', entries: [1, 2, 3].map((frame) => ({ sop_instance_uid: 'x', frame, rows: 4, columns: 4 })) };
  const plan = loadPlan({ series: [cine], shown: [{ uid: 'u', index: 0 }], budget: plenty });
  assert.deepEqual(plan.map((p) => p.key), ['x/1', 'x/2', 'x/3']);
});

test('it ignores a viewport whose series it has not listed yet', () => {
  const plan = loadPlan({ series: [series('a', 3)], shown: [{ uid: 'zzz', index: 0 }], budget: plenty });
  assert.deepEqual(plan.map((p) => p.index), [1, 2, 0]);
});

test('it chooses a budget that fits phones and desktops, or the one asked for', () => {
  assert.equal(chooseBudget({ deviceMemory: 8 }), 1024 * MB);
  assert.equal(chooseBudget({ deviceMemory: 4 }), 512 * MB);
  assert.equal(chooseBudget({ deviceMemory: 8, narrow: true }), 256 * MB);
  assert.equal(chooseBudget({ deviceMemory: 0.5, narrow: true }), 128 * MB);
  assert.equal(chooseBudget({ narrow: true }), 256 * MB, 'unknown memory on a phone');
  assert.equal(chooseBudget({}), 1024 * MB, 'unknown memory on a desktop');
  assert.equal(chooseBudget({ deviceMemory: 8, overrideMb: 40 }), 40 * MB);
});

test('it waits for every series’ listing before the rest, so each one’s first image comes first', () => {
  const study = [series('a', 5), { uid: 'b', entries: [] }];
  const plan = loadPlan({ series: study, shown: [{ uid: 'a', index: 0 }], budget: plenty, listing: true });
  assert.deepEqual(plan.map((p) => p.phase), [ON_SCREEN]);
  const later = loadPlan({ series: study, shown: [{ uid: 'a', index: 0 }], budget: plenty });
  assert.equal(later.length, 5);
});

test('it asks for a large image’s reduced rendition before its frame, and only while the frame is not held', () => {
  const big = series('dx', 2, () => ({ rows: 3000, columns: 3000 }));
  const small = series('ct', 3);
  const shown = [{ uid: 'dx', index: 0 }, { uid: 'ct', index: 1 }];
  const plan = loadPlan({ series: [big, small], shown, budget: plenty, held: () => false });
  assert.deepEqual(plan.slice(0, 3).map((p) => [p.key, p.phase, Boolean(p.reduced)]), [
    [previewKey(big.entries[0]), ON_SCREEN, true],
    [frameKey(big.entries[0]), ON_SCREEN, false],
    [frameKey(small.entries[1]), ON_SCREEN, false],
  ]);
  assert.equal(plan.filter((p) => p.reduced).length, 1, 'only what is on screen comes reduced');
  const after = loadPlan({
    series: [big, small], shown, budget: plenty, held: (key) => key === frameKey(big.entries[0]),
  });
  assert.ok(!after.some((p) => p.reduced), 'once the frame is held the rendition leaves the plan');
});

test('it counts a reduced rendition against the budget at its own size', () => {
  const big = series('dx', 2, () => ({ rows: 3000, columns: 3000 }));
  const full = estimatedBytes(big.entries[0]);
  const reduced = estimatedBytes(big.entries[0], true);
  assert.equal(full, 3000 * 3000 * 2);
  assert.equal(reduced, 1000 * 1000 * 2);
  // Room for the shown image, its rendition and nothing more: the other image waits.
  const plan = loadPlan({ series: [big], shown: [{ uid: 'dx', index: 0 }], budget: full + reduced });
  assert.deepEqual(plan.map((p) => p.key), [previewKey(big.entries[0]), frameKey(big.entries[0])]);
});

test('it reduces by the smallest whole factor that fits 1024, as the server does', () => {
  assert.equal(reductionFactor(1024, 800), 1);
  assert.equal(reductionFactor(3000, 3000), 3);
  assert.equal(reductionFactor(2050, 1030), 3);
  assert.equal(reductionFactor(4100, 2000), 5);
  assert.deepEqual(reducedSize(2050, 1030), { rows: 684, columns: 344, factor: 3 });
  assert.equal(wantsPreview({ rows: 512, columns: 512 }), false);
  assert.equal(wantsPreview({ rows: 2500, columns: 2048 }), true);
  assert.equal(wantsPreview({ sop_instance_uid: 'x', missing: true }), false);
});
