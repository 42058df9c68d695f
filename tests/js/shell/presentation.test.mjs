import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presentedView } from '../../../static/viewer/shell/presentation.js';

const entry = { sop_instance_uid: '1.1', frame: 1 };
const state = {
  applies_to: { S1: [{ sop_instance_uid: '1.1', frames: null }] },
  voi: [{ applies_to: null, center: 1064, width: 80, function: 'LINEAR' }],
  modality_lut: null,
  presentation_lut_shape: 'IDENTITY',
};

test('a state without a Modality LUT: its stored-value window is shown in the image units', () => {
  // PS3.4 N.2.1.1: stored 1064 in a CT of intercept -1024 is HU 40.
  const view = presentedView(state, entry, { slope: 1, intercept: -1024 });
  assert.deepEqual([view.center, view.width, view.invert], [40, 80, false]);
});

test('a rescale that runs the other way round inverts the view, so the grey is the state\'s', () => {
  const view = presentedView(state, entry, { slope: -1, intercept: 0 });
  assert.deepEqual([view.center, view.width, view.invert], [-1064, 80, true]);
  const inverse = presentedView({ ...state, presentation_lut_shape: 'INVERSE' }, entry, { slope: -1, intercept: 0 });
  assert.equal(inverse.invert, false);
});
