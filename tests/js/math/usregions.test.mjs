import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  axisDeltas, regionFor, regionSpacing, usArea, usCalibration, usLength,
} from '../../../static/viewer/math/usregions.js';
import { labelFor } from '../../../static/viewer/tools/measure.js';

const close = (actual, expected, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);

// The generated cine's regions (viewer/demo/ultrasound.py): a 2-D image in cm above a
// pulsed-wave Doppler strip in s and cm/s.
const TISSUE = {
  min_x0: 40, min_y0: 20, max_x1: 599, max_y1: 299, spatial_format: 1, data_type: 1,
  units_x: 3, units_y: 3, delta_x: 0.01, delta_y: 0.01,
};
const DOPPLER = {
  min_x0: 40, min_y0: 320, max_x1: 599, max_y1: 469, spatial_format: 3, data_type: 3,
  units_x: 4, units_y: 7, delta_x: 0.004, delta_y: -0.5,
};
const REGIONS = [TISSUE, DOPPLER];

test('a length inside a 2-D region in cm is in mm, and says so', () => {
  const us = usLength([[100, 100], [130, 140]], REGIONS);
  assert.equal(us.note, 'US region');
  assert.equal(us.values.length, 1);
  close(us.values[0].value, 5); // 50 px at 0.1 mm
  assert.equal(us.values[0].unit, 'mm');
  assert.equal(labelFor({ kind: 'length', points: [[100, 100], [130, 140]] }, { us_regions: REGIONS }, null, 'US'),
    '5.0 mm (US region)');
});

test('a region with unequal deltas measures in mm along each axis', () => {
  const stretched = { ...TISSUE, delta_x: 0.02, delta_y: 0.01 };
  assert.deepEqual(regionSpacing(stretched), [0.1, 0.2]);
  close(usLength([[100, 100], [103, 100]], [stretched]).values[0].value, 0.6);
});

test('a length crossing from one region into another is in px, and says why', () => {
  const us = usLength([[100, 100], [100, 400]], REGIONS);
  assert.deepEqual(us, { values: [{ symbol: '', value: 300, unit: 'px', digits: 1 }], note: 'crosses US regions' });
});

test('a length with an end outside every region is in px', () => {
  const us = usLength([[10, 10], [100, 100]], REGIONS);
  assert.equal(us.values[0].unit, 'px');
  assert.equal(us.note, 'outside US regions');
  assert.equal(regionFor([[10, 10]], REGIONS).reason, 'outside');
});

test('region bounds reach half a pixel past the edge pixels, no further', () => {
  assert.equal(regionFor([[39.5, 20], [599.5, 299.5]], REGIONS).region, TISSUE);
  assert.equal(regionFor([[39.4, 20]], REGIONS).region, null);
});

test('on a Doppler strip a length is a time and a velocity difference', () => {
  const us = usLength([[100, 440], [200, 340]], REGIONS);
  assert.equal(us.note, 'US region');
  assert.deepEqual(us.values.map((v) => [v.symbol, v.unit]), [['Δt', 's'], ['Δv', 'cm/s']]);
  close(us.values[0].value, 0.4);
  close(us.values[1].value, 50); // magnitudes: the negative delta only says "up is faster"
  assert.equal(labelFor({ kind: 'length', points: [[100, 440], [200, 340]] }, { us_regions: REGIONS }, null, 'US'),
    'Δt 0.400 s · Δv 50.0 cm/s (US region)');
});

test('on an M-mode strip a length is a time and a depth in mm', () => {
  const mmode = { ...DOPPLER, spatial_format: 2, units_y: 3, delta_y: 0.02 };
  const deltas = axisDeltas([[100, 330], [150, 380]], mmode);
  assert.deepEqual(deltas.map((v) => v.symbol), ['Δt', 'Δd']);
  close(deltas[1].value, 10);
});

test('axes without a sure unit (dB, none) give no numbers but px', () => {
  const noUnits = { ...DOPPLER, units_y: 0 };
  const us = usLength([[100, 330], [150, 380]], [noUnits]);
  assert.equal(us.values[0].unit, 'px');
  assert.equal(us.note, 'US region without distances');
  // A graphics region in cm is not an image of the patient: no mm either.
  assert.equal(regionSpacing({ ...TISSUE, spatial_format: 5 }), null);
});

test('overlapping regions that disagree give px; that agree, their units', () => {
  const colour = { ...TISSUE, min_x0: 200, max_x1: 300, min_y0: 50, max_y1: 150, data_type: 2 };
  assert.equal(usLength([[210, 60], [250, 60]], [TISSUE, colour]).values[0].unit, 'mm');
  const other = { ...colour, delta_x: 0.02 };
  assert.equal(regionFor([[210, 60], [250, 60]], [TISSUE, other]).reason, 'ambiguous');
  assert.equal(usLength([[210, 60], [250, 60]], [TISSUE, other]).values[0].unit, 'px');
});

test('ROI areas are mm² in a 2-D region and px² elsewhere', () => {
  const inside = usArea('rectangle', [[100, 100], [110, 120]], REGIONS);
  close(inside.value, 2); // 1 mm by 2 mm
  assert.equal(inside.unit, 'mm²');
  assert.equal(inside.note, 'US region');
  const strip = usArea('rectangle', [[100, 330], [110, 340]], REGIONS);
  assert.deepEqual(strip, { value: 100, unit: 'px²', note: 'US region without distances' });
  const label = labelFor({ kind: 'ellipse', points: [[100, 100], [120, 120]] }, { us_regions: REGIONS }, null, 'US');
  assert.match(label, /^3\.1 mm² \(US region\)$/);
});

test('angles in a 2-D region use its spacing', () => {
  const stretched = { ...TISSUE, delta_x: 0.02 };
  const label = labelFor({ kind: 'angle', points: [[101, 100], [100, 100], [101, 101]] },
    { us_regions: [stretched] }, null, 'US');
  assert.equal(label, `${((Math.atan2(1, 2) * 180) / Math.PI).toFixed(1)}°`);
});

test('an image without regions measures as before, by its pixel spacing', () => {
  assert.equal(usCalibration([[0, 0], [1, 1]], undefined), null);
  assert.equal(usLength([[0, 0], [1, 1]], []), null);
  assert.equal(usArea('rectangle', [[0, 0], [1, 1]], null), null);
  const length = { kind: 'length', points: [[0, 0], [3, 4]] };
  assert.equal(labelFor(length, { pixel_spacing: [0.5, 0.5], us_regions: [] }, null, 'CT'), '2.5 mm');
  assert.equal(labelFor(length, { pixel_spacing: null }, null, 'US'), '5.0 px');
});
