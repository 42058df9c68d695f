import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  comparePrior, descriptionLikeness, linkedSlice, matchSeries, newestFirst, samePatient, slicePositions,
} from '../../../static/viewer/math/priors.js';

const AXIAL = [1, 0, 0, 0, 1, 0];
const CORONAL = [1, 0, 0, 0, 0, -1];
const stack = (zs, frame, orientation = AXIAL) => zs.map((z) => ({
  position: [0, 0, z], orientation, frame_of_reference_uid: frame,
}));

test('it lists priors newest first, undated last, ties as listed', () => {
  const sorted = newestFirst([
    { study_uid: 'a', study_date: '2023-01-05' },
    { study_uid: 'b', study_date: null },
    { study_uid: 'c', study_date: '2024-03-01' },
    { study_uid: 'd', study_date: '2024-03-01' },
  ]);
  assert.deepEqual(sorted.map((p) => p.study_uid), ['c', 'd', 'a', 'b']);
});

test('it compares with the most recent comparable prior that is here', () => {
  const priors = [
    { study_uid: 'old-ct', study_date: '2020-01-01', comparable: true, where: 'local' },
    { study_uid: 'remote-ct', study_date: '2024-01-01', comparable: true, where: 'remote' },
    { study_uid: 'mr', study_date: '2025-01-01', comparable: false, where: 'local' },
    { study_uid: 'ct', study_date: '2022-01-01', comparable: true, where: 'local' },
  ];
  assert.equal(comparePrior(priors).study_uid, 'ct');
  assert.equal(comparePrior(priors.filter((p) => !p.comparable)), null);
});

test('it never matches a series of another modality', () => {
  const current = { modality: 'CT', description: 'Chest', orientation: AXIAL };
  assert.equal(matchSeries(current, [{ series_uid: 'mr', modality: 'MR', description: 'Chest', orientation: AXIAL }]), null);
});

test('it prefers the same orientation over a closer description', () => {
  const current = { modality: 'CT', description: 'Chest 5mm', orientation: AXIAL };
  const chosen = matchSeries(current, [
    { series_uid: 'cor', modality: 'CT', description: 'Chest 5mm', orientation: CORONAL },
    { series_uid: 'ax', modality: 'CT', description: 'Thorax', orientation: AXIAL },
  ]);
  assert.equal(chosen.series_uid, 'ax');
});

test('it prefers the closer description among series of one orientation', () => {
  const current = { modality: 'CT', description: 'Chest lung 1mm', orientation: AXIAL };
  const chosen = matchSeries(current, [
    { series_uid: 'soft', modality: 'CT', description: 'Chest soft tissue 5mm', orientation: AXIAL },
    { series_uid: 'lung', modality: 'CT', description: 'CHEST LUNG 1mm', orientation: AXIAL },
  ]);
  assert.equal(chosen.series_uid, 'lung');
  assert.equal(descriptionLikeness('', ''), 1);
  assert.equal(descriptionLikeness('a b', 'c'), 0);
});

test('it breaks ties by the number of images, then strip order', () => {
  const current = { modality: 'CT', description: 'x', orientation: AXIAL, count: 100 };
  const candidates = [
    { series_uid: 'few', modality: 'CT', description: 'x', orientation: AXIAL, count: 10 },
    { series_uid: 'near', modality: 'CT', description: 'x', orientation: AXIAL, count: 90 },
    { series_uid: 'near-too', modality: 'CT', description: 'x', orientation: AXIAL, count: 110 },
  ];
  assert.equal(matchSeries(current, candidates).series_uid, 'near');
});

test('it projects each slice position on the stack normal', () => {
  const found = slicePositions(stack([10, 12.5], 'f'));
  assert.deepEqual(found.normal, [0, 0, 1]);
  assert.deepEqual(found.positions, [10, 12.5]);
  assert.equal(slicePositions([{ position: [0, 0, 1], orientation: null }]), null);
});

test('it links exactly by position in one frame of reference', () => {
  const source = stack([0, 5, 10, 15], 'same');
  const target = stack([-20, -17, -14, -11, -8, -5, -2, 1, 4, 7, 10, 13], 'same');
  assert.deepEqual(linkedSlice(source, 2, target), { index: 10, approximate: false }); // z 10
  assert.deepEqual(linkedSlice(source, 0, target), { index: 7, approximate: false }); // z 0 → 1
});

test('it links relative to each first slice when the frames of reference differ', () => {
  const current = stack([100, 105, 110, 115], 'visit-2');
  const prior = stack([-50, -47.5, -45, -42.5, -40, -37.5, -35], 'visit-1');
  // 10 mm above the current's first slice: 10 mm above the prior's, at -40.
  assert.deepEqual(linkedSlice(current, 2, prior), { index: 4, approximate: true });
  assert.deepEqual(linkedSlice(current, 0, prior), { index: 0, approximate: true });
  // Beyond the prior's extent: its last slice.
  assert.deepEqual(linkedSlice(current, 3, prior), { index: 6, approximate: true });
});

test('it links a stack listed the other way round from the same end of the patient', () => {
  const current = stack([0, 5, 10], 'visit-2');
  // The prior's normal points down (its rows run the other way): z falls as index rises.
  const flipped = [1, 0, 0, 0, -1, 0];
  const prior = [30, 25, 20, 15].map((z) => ({ position: [0, 0, z], orientation: flipped, frame_of_reference_uid: 'visit-1' }));
  // 5 mm above the current's lowest slice: 5 mm above the prior's lowest (z 15), z 20.
  assert.deepEqual(linkedSlice(current, 1, prior), { index: 2, approximate: true });
});

test('it does not link stacks that are not parallel or have no positions', () => {
  assert.equal(linkedSlice(stack([0, 5], 'a'), 0, stack([0, 5], 'a', CORONAL)), null);
  assert.equal(linkedSlice(stack([0, 5], 'a'), 0, [{ position: null, orientation: null }]), null);
});

test('it links two studies approximately even when their frames of reference look alike', () => {
  // A missing Frame of Reference UID on both sides ("" and "") is no match, nor is the
  // same UID in another study: the prior follows by distance from its first slice.
  for (const frame of ['', 'copied-uid']) {
    const current = stack([100, 105, 110, 115], frame);
    const prior = stack([-50, -45, -40, -35], frame);
    assert.deepEqual(linkedSlice(current, 2, prior, { sameStudy: false }), { index: 2, approximate: true });
  }
  const missing = stack([100, 105], '').map((entry) => ({ ...entry, position: null }));
  assert.equal(linkedSlice(missing, 0, stack([0, 5], ''), { sameStudy: false }), null);
});

test('it takes a prior as the same patient only with the same ID and issuer', () => {
  const ours = { patient_id: 'P1', issuer_of_patient_id: 'HOSP-A' };
  assert.equal(samePatient(ours, { patient_id: 'P1', issuer_of_patient_id: 'HOSP-A' }), true);
  assert.equal(samePatient({ ...ours, issuer_of_patient_id: '' }, { ...ours, issuer_of_patient_id: '' }), true);
  assert.equal(samePatient(ours, { patient_id: 'P1', issuer_of_patient_id: '' }), false);
  assert.equal(samePatient({ ...ours, issuer_of_patient_id: '' }, ours), false);
  assert.equal(samePatient(ours, { patient_id: 'P2', issuer_of_patient_id: 'HOSP-A' }), false);
  assert.equal(samePatient(ours, { patient_id: 'P1' }), false); // an answer that does not say
  assert.equal(samePatient({ patient_id: '', issuer_of_patient_id: '' }, { patient_id: '', issuer_of_patient_id: '' }), false);
});
