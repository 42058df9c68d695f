import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  besidePrior, chestWallEdge, mammoPlacement, priorViews, upsideDown, wantedEdge,
} from '../../../static/viewer/math/mammo.js';
import { projectionLabels } from '../../../static/viewer/math/orientation.js';
import { defaultPlacement, imageToCanvas } from '../../../static/viewer/math/transform.js';

test('rows running anterior put the chest wall at the left edge, posterior at the right', () => {
  assert.equal(chestWallEdge(['A', 'R']), 'left');
  assert.equal(chestWallEdge(['P', 'FL']), 'right');
  assert.equal(chestWallEdge(['R', 'A']), null); // turned: a flip cannot fix it
  assert.equal(chestWallEdge(null), null);
  assert.equal(chestWallEdge([]), null);
});

test('facing wants a right breast chest wall right and a left breast chest wall left', () => {
  assert.equal(wantedEdge('facing', 'R'), 'right');
  assert.equal(wantedEdge('facing', 'L'), 'left');
  assert.equal(wantedEdge('facing', 'B'), null);
  assert.equal(wantedEdge('left', 'R'), 'left');
  assert.equal(wantedEdge('', 'R'), null);
});

test('a right CC stored with its chest wall left is mirrored; one stored as read is not', () => {
  const acquired = { laterality: 'R', view: 'CC', patient_orientation: ['A', 'L'] };
  assert.deepEqual(mammoPlacement(acquired, 'facing'), { flipH: true, rotation: 0, state: 'mirrored', label: 'R CC' });
  const asRead = { laterality: 'R', view: 'CC', patient_orientation: ['P', 'L'] };
  assert.deepEqual(mammoPlacement(asRead, 'facing'), { flipH: false, rotation: 0, state: 'as-stored', label: 'R CC' });
});

test('a left MLO with its chest wall left stays as stored', () => {
  const entry = { laterality: 'L', view: 'MLO', patient_orientation: ['A', 'FR'] };
  assert.equal(mammoPlacement(entry, 'facing').flipH, false);
});

test('without an orientation or a laterality nothing is mirrored, and it says why', () => {
  const noOrientation = { laterality: 'R', view: 'CC', patient_orientation: null };
  assert.deepEqual(mammoPlacement(noOrientation, 'facing'), { flipH: false, rotation: 0, state: 'no-orientation', label: 'R CC' });
  const noSide = { laterality: '', view: 'CC', patient_orientation: ['A', 'L'] };
  assert.deepEqual(mammoPlacement(noSide, 'facing'), { flipH: false, rotation: 0, state: 'no-laterality', label: 'CC' });
});

const image = { columns: 64, rows: 80 };
const canvas = { width: 400, height: 400 };

test('projection markers read the rows and columns of PatientOrientation', () => {
  const m = imageToCanvas(image, canvas, defaultPlacement());
  assert.deepEqual(projectionLabels(['A', 'L'], m), { right: 'A', left: 'P', bottom: 'L', top: 'R' });
  assert.deepEqual(projectionLabels(['A', 'FR'], m), { right: 'A', left: 'P', bottom: 'FR', top: 'HL' });
});

test('projection markers follow a horizontal flip: the chest wall side marker moves across', () => {
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: true });
  assert.deepEqual(projectionLabels(['A', 'L'], m), { right: 'P', left: 'A', bottom: 'L', top: 'R' });
});

test('projection markers follow a quarter turn', () => {
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), rotation: 90 });
  // Turned clockwise: the rows now run down the screen, the columns to the left.
  assert.deepEqual(projectionLabels(['A', 'L'], m), { right: 'R', left: 'L', bottom: 'A', top: 'P' });
});

test('no projection markers without a usable PatientOrientation', () => {
  const m = imageToCanvas(image, canvas, defaultPlacement());
  assert.equal(projectionLabels(null, m), null);
  assert.equal(projectionLabels(['A'], m), null);
  assert.equal(projectionLabels(['A', 'X'], m), null);
});

test('each current view finds the prior image of the same side and view, once', () => {
  const listings = [
    { series_uid: 'p1', instances: [{ sop_instance_uid: 'a', laterality: 'L', view: 'CC' }, { sop_instance_uid: 'b', laterality: 'R', view: 'CC' }] },
    { series_uid: 'p2', instances: [{ sop_instance_uid: 'c', laterality: 'R', view: 'MLO' }] },
  ];
  const wanted = [{ laterality: 'R', view: 'CC' }, { laterality: 'L', view: 'CC' }, { laterality: 'R', view: 'MLO' }, { laterality: 'L', view: 'MLO' }];
  assert.deepEqual(priorViews(wanted, listings), [
    { series_uid: 'p1', sop_instance_uid: 'b', chest_wall: 'facing' },
    { series_uid: 'p1', sop_instance_uid: 'a', chest_wall: 'facing' },
    { series_uid: 'p2', sop_instance_uid: 'c', chest_wall: 'facing' },
    null,
  ]);
});

test('current beside prior: each row is the current pair, then the prior pair', () => {
  const current = ['rcc', 'lcc', 'rmlo', 'lmlo'].map((v) => ({ series_uid: v }));
  const prior = ['RCC', 'LCC', 'RMLO', null].map((v) => (v ? { series_uid: v } : null));
  const { layout, viewports } = besidePrior(current, prior);
  assert.equal(layout, '2x4');
  assert.deepEqual(viewports.map((v) => v.series_uid), ['rcc', 'lcc', 'RCC', 'LCC', 'rmlo', 'lmlo', 'RMLO', null]);
  assert.equal(viewports[7].empty, true);
});

test('the column direction says whether the image stands on its head', () => {
  assert.equal(upsideDown(['A', 'FR']), false);
  assert.equal(upsideDown(['A', 'HR']), true);
  assert.equal(upsideDown(['A', 'L']), null); // a CC: columns run sideways
  assert.equal(upsideDown(['A', 'HF']), null);
  assert.equal(upsideDown(null), null);
});

// The four cases of a right MLO (wanted: chest wall at the right edge, head up), checked
// on the markers the viewer draws with the placement applied: the posterior (chest
// wall) marker must end at the right edge and the head marker at the top.
const rightMlo = [
  { orientation: ['P', 'FL'], state: 'as-stored', flipH: false, rotation: 0 },
  { orientation: ['A', 'FL'], state: 'mirrored', flipH: true, rotation: 0 },
  { orientation: ['A', 'HL'], state: 'turned', flipH: false, rotation: 180 },
  { orientation: ['P', 'HL'], state: 'turned-mirrored', flipH: true, rotation: 180 },
];
for (const { orientation, state, flipH, rotation } of rightMlo) {
  test(`a right MLO stored ${orientation.join('\\')} is ${state}: chest wall right, head up`, () => {
    const decision = mammoPlacement({ laterality: 'R', view: 'MLO', patient_orientation: orientation }, 'facing');
    assert.deepEqual(decision, { flipH, rotation, state, label: 'R MLO' });
    const m = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: decision.flipH, rotation: decision.rotation });
    const labels = projectionLabels(orientation, m);
    assert.equal(labels.right, 'P');
    assert.equal(labels.left, 'A');
    assert.match(labels.top, /H/);
    assert.match(labels.bottom, /F/);
  });
}

test('a left MLO stored upside down with its chest wall right is turned, never only flipped', () => {
  const entry = { laterality: 'L', view: 'MLO', patient_orientation: ['P', 'HR'] };
  const decision = mammoPlacement(entry, 'facing');
  assert.equal(decision.state, 'turned');
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), flipH: decision.flipH, rotation: decision.rotation });
  assert.deepEqual(projectionLabels(entry.patient_orientation, m), { left: 'P', right: 'A', top: 'HR', bottom: 'FL' });
});

test('a view missing from the current study keeps its slot: the later views stay in their column', () => {
  // No right CC: the left CC must stay in the left breast's column (second), not slide
  // into the right breast's (first) with its chest wall outward.
  const current = [null, { series_uid: 'lcc' }, { series_uid: 'rmlo' }, { series_uid: 'lmlo' }];
  const wanted = [null, { laterality: 'L', view: 'CC' }, { laterality: 'R', view: 'MLO' }, { laterality: 'L', view: 'MLO' }];
  const listings = [{
    series_uid: 'p',
    instances: ['R CC', 'L CC', 'R MLO', 'L MLO'].map((name) => {
      const [laterality, view] = name.split(' ');
      return { sop_instance_uid: name, laterality, view };
    }),
  }];
  const prior = priorViews(wanted, listings);
  assert.deepEqual(prior.map((p) => p?.sop_instance_uid ?? null), [null, 'L CC', 'R MLO', 'L MLO']);
  const { layout, viewports } = besidePrior(current, prior);
  assert.equal(layout, '2x4');
  assert.deepEqual(viewports.map((v) => v.sop_instance_uid || v.series_uid), [null, 'lcc', null, 'L CC', 'rmlo', 'lmlo', 'R MLO', 'L MLO']);
  // Empty slots stay empty: the viewer never fills them with another series.
  assert.deepEqual(viewports[0], { series_uid: null, empty: true });
  assert.deepEqual(viewports[2], { series_uid: null, empty: true });
});

test('a view missing from the prior leaves only its own prior slot empty', () => {
  const current = ['rcc', 'lcc', 'rmlo', 'lmlo'].map((v) => ({ series_uid: v }));
  const wanted = [['R', 'CC'], ['L', 'CC'], ['R', 'MLO'], ['L', 'MLO']].map(([laterality, view]) => ({ laterality, view }));
  const listings = [{ series_uid: 'p', instances: [
    { sop_instance_uid: 'LCC', laterality: 'L', view: 'CC' },
    { sop_instance_uid: 'RMLO', laterality: 'R', view: 'MLO' },
    { sop_instance_uid: 'LMLO', laterality: 'L', view: 'MLO' },
  ] }];
  const { viewports } = besidePrior(current, priorViews(wanted, listings));
  assert.deepEqual(viewports.map((v) => v.sop_instance_uid || v.series_uid), ['rcc', 'lcc', null, 'LCC', 'rmlo', 'lmlo', 'RMLO', 'LMLO']);
  assert.equal(viewports[2].empty, true);
});

test('an empty slot names its view and whose study lacks it', () => {
  const current = [null, { series_uid: 'lcc' }, { series_uid: 'rmlo' }, { series_uid: 'lmlo' }];
  const views = [['R', 'CC'], ['L', 'CC'], ['R', 'MLO'], ['L', 'MLO']].map(([laterality, view]) => ({ laterality, view }));
  const prior = [{ series_uid: 'p', sop_instance_uid: 'RCC' }, { series_uid: 'p', sop_instance_uid: 'LCC' }, null, { series_uid: 'p', sop_instance_uid: 'LMLO' }];
  const { viewports } = besidePrior(current, prior, views);
  assert.deepEqual(viewports[0], { series_uid: null, empty: true, missing: { laterality: 'R', view: 'CC' }, of: 'current' });
  assert.deepEqual(viewports[6], { series_uid: null, empty: true, missing: { laterality: 'R', view: 'MLO' }, of: 'prior' });
  assert.equal(viewports[2].sop_instance_uid, 'RCC'); // the prior's R CC beside the empty current slot
});
