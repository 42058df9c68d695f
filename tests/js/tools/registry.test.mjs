import assert from 'node:assert/strict';
import { test } from 'node:test';

import { handles, hitTest, moveHandle, segments } from '../../../static/viewer/tools/edit.js';
import { labelFor, pointerDown } from '../../../static/viewer/tools/measure.js';
import { KINDS, kindOf } from '../../../static/viewer/tools/registry.js';

// The kinds the server accepts (viewer/reading/measurements.py POINTS), with the
// fewest points each has.
const SERVER = {
  length: 2, angle: 3, cobb: 4, ellipse: 2, rectangle: 2, freehand: 3, probe: 1, arrow: 2, text: 1,
};

const frame = {
  columns: 4, rows: 4, samples: 1, slope: 1, intercept: -1024,
  values: Uint16Array.from({ length: 16 }, (_, i) => 1000 + i),
};

test('it has exactly the kinds the server accepts, with their fewest points', () => {
  assert.deepEqual(Object.keys(KINDS).sort(), Object.keys(SERVER).sort());
  for (const [kind, fewest] of Object.entries(SERVER)) assert.equal(KINDS[kind].fewest, fewest, kind);
  assert.ok(Object.isFrozen(KINDS) && Object.values(KINDS).every(Object.isFrozen));
});

test('it gives every kind the fields', () => {
  for (const [kind, entry] of Object.entries(KINDS)) {
    assert.ok(['drag', 'click', 'trace'].includes(entry.draw), kind);
    assert.ok(Number.isInteger(entry.points) || entry.points === 'free', kind);
    assert.ok(entry.points === 'free' || entry.points === entry.fewest, kind);
    for (const name of ['handles', 'moveHandle', 'outline', 'shape', 'label']) {
      assert.equal(typeof entry[name], 'function', `${kind}.${name}`);
    }
    assert.ok(entry.roi === null || typeof entry.roi.inside === 'function', kind);
  }
});

test('it says how each kind is drawn', () => {
  const drawn = Object.fromEntries(Object.entries(KINDS).map(([kind, k]) => [kind, [k.draw, k.points]]));
  assert.deepEqual(drawn, {
    length: ['drag', 2],
    angle: ['click', 3],
    cobb: ['click', 4],
    ellipse: ['drag', 2],
    rectangle: ['drag', 2],
    freehand: ['trace', 'free'],
    probe: ['click', 1],
    arrow: ['drag', 2],
    text: ['click', 1],
  });
});

test('it refuses an unknown kind clearly', () => {
  assert.throws(() => kindOf('circle'), /unknown measurement kind: "circle"/);
  assert.throws(() => kindOf('toString'), /unknown measurement kind/);
  assert.throws(() => kindOf(undefined), /unknown measurement kind/);
  assert.throws(() => labelFor({ kind: 'circle', points: [[0, 0]] }, {}, null, 'CT'), /unknown measurement kind/);
  assert.throws(() => handles({ kind: 'circle', points: [[0, 0]] }), /unknown measurement kind/);
  assert.throws(() => pointerDown(null, 'circle', [0, 0]), /unknown measurement kind/);
});

test('it gives the handles the old switches gave', () => {
  const points = {
    length: [[0, 0], [3, 4]],
    angle: [[4, 0], [0, 0], [0, 2]],
    cobb: [[0, 0], [10, 0], [0, 0], [10, 10]],
    probe: [[2, 3]],
    arrow: [[0, 0], [5, 5]],
    text: [[1, 1]],
  };
  // Points, lines and paths: every point, the very list.
  for (const [kind, list] of Object.entries(points)) assert.equal(handles({ kind, points: list }), list, kind);
  // Boxes: four corners, clockwise from the first point.
  assert.deepEqual(handles({ kind: 'ellipse', points: [[0, 0], [3, 3]] }), [[0, 0], [3, 0], [3, 3], [0, 3]]);
  assert.deepEqual(handles({ kind: 'rectangle', points: [[5, 1], [2, 4]] }), [[5, 1], [2, 1], [2, 4], [5, 4]]);
  assert.deepEqual(handles({ kind: 'freehand', points: [[0, 0], [3, 0], [0, 3]] }), []);
});

test('it moves a box by its corners and anything else by its points', () => {
  assert.deepEqual(moveHandle('ellipse', [[0, 0], [3, 3]], 2, [4, 5]), [[0, 0], [4, 5]]);
  assert.deepEqual(moveHandle('rectangle', [[0, 0], [3, 3]], 3, [-1, 6]), [[-1, 0], [3, 6]]);
  assert.deepEqual(moveHandle('angle', [[4, 0], [0, 0], [0, 2]], 1, [1, 1]), [[4, 0], [1, 1], [0, 2]]);
  assert.deepEqual(moveHandle('cobb', [[0, 0], [1, 0], [0, 1], [1, 1]], 3, [2, 2]), [[0, 0], [1, 0], [0, 1], [2, 2]]);
});

test('it outlines each kind as before', () => {
  const count = (kind, list) => segments({ kind, points: list }).length;
  assert.equal(count('length', [[0, 0], [3, 4]]), 1);
  assert.equal(count('angle', [[4, 0], [0, 0], [0, 2]]), 2);
  assert.equal(count('cobb', [[0, 0], [10, 0], [0, 0], [10, 10]]), 2);
  assert.equal(count('ellipse', [[0, 0], [3, 3]]), 48);
  assert.equal(count('rectangle', [[0, 0], [1, 1]]), 4);
  assert.equal(count('freehand', [[0, 0], [3, 0], [0, 3]]), 3);
  assert.equal(count('probe', [[2, 3]]), 0);
  assert.deepEqual(segments({ kind: 'cobb', points: [[0, 0], [1, 0], [0, 1], [1, 1]] }),
    [[[0, 0], [1, 0]], [[0, 1], [1, 1]]]);
});

test('it labels each kind with the old labels, word for word', () => {
  const label = (kind, points, geometry = {}, values = frame, modality = 'CT', extra = {}) =>
    labelFor({ kind, points, ...extra }, geometry, values, modality);
  assert.equal(label('length', [[0, 0], [3, 4]], { pixel_spacing: [0.5, 0.5], spacing_is_at_detector: true },
    frame, 'DX'), '2.5 mm (detector)');
  assert.equal(label('angle', [[2, 0], [0, 0], [2, 1]], { pixel_spacing: [2, 1] }), '45.0°');
  assert.equal(label('angle', [[2, 0], [0, 0], [2, 1]]), '26.6°');
  assert.equal(label('cobb', [[0, 0], [10, 0], [0, 0], [10, 10]], {}, null, 'CR'), 'Cobb 45.0°');
  assert.equal(label('ellipse', [[0, 0], [3, 3]]), '7.1 px² · mean -16.5 HU SD 2.1 · min -19.0 max -14.0 HU');
  assert.equal(label('rectangle', [[0, 0], [1, 1]], { pixel_spacing: [1, 1] }),
    '1.0 mm² · mean -21.5 HU SD 2.1 · min -24.0 max -19.0 HU');
  assert.equal(label('freehand', [[0, 0], [3, 0], [0, 3]], { pixel_spacing: [0.5, 0.5] }, frame, 'MR'),
    '1.1 mm² · mean -20.7 SD 2.7 · min -24.0 max -16.0');
  assert.equal(label('probe', [[2, 3]]), '(2, 3) stored 1014 = -10.0 HU');
  assert.equal(label('arrow', [[0, 0], [5, 5]], {}, frame, 'CT', { label: 'here' }), 'here');
  assert.equal(label('arrow', [[0, 0], [5, 5]]), '');
  assert.equal(label('text', [[1, 1]], {}, null, 'CT', { label: 'cyst?' }), 'cyst?');
  const tissue = {
    min_x0: 40, min_y0: 20, max_x1: 599, max_y1: 299, spatial_format: 1, data_type: 1,
    units_x: 3, units_y: 3, delta_x: 0.01, delta_y: 0.01,
  };
  assert.equal(label('rectangle', [[100, 100], [110, 120]], { us_regions: [tissue] }, null, 'US'),
    '2.0 mm² (US region)');
});

test('it draws each kind with the old SVG shapes', () => {
  const shape = (kind, screen) => KINDS[kind].shape(screen);
  assert.deepEqual(shape('length', [[0, 0], [3, 4]]), [{ element: 'polyline', attributes: { points: '0,0 3,4' } }]);
  assert.deepEqual(shape('arrow', [[0, 0], [3, 4]]), [
    { element: 'polyline', attributes: { points: '0,0 3,4' } },
    { element: 'circle', attributes: { cx: 3, cy: 4, r: 4, class: 'head' } },
  ]);
  assert.deepEqual(shape('cobb', [[0, 0], [1, 0], [0, 1], [1, 1]]), [
    { element: 'line', attributes: { x1: 0, y1: 0, x2: 1, y2: 0 } },
    { element: 'line', attributes: { x1: 0, y1: 1, x2: 1, y2: 1 } },
  ]);
  // A Cobb angle still being drawn is the path so far.
  assert.deepEqual(shape('cobb', [[0, 0], [1, 0]]), [{ element: 'polyline', attributes: { points: '0,0 1,0' } }]);
  assert.deepEqual(shape('ellipse', [[2, 2], [6, 4]]),
    [{ element: 'ellipse', attributes: { cx: 4, cy: 3, rx: 2, ry: 1 } }]);
  assert.deepEqual(shape('rectangle', [[2, 2], [6, 4]]),
    [{ element: 'polygon', attributes: { points: '2,2 6,2 6,4 2,4' } }]);
  assert.deepEqual(shape('freehand', [[0, 0], [3, 0], [0, 3]]),
    [{ element: 'polygon', attributes: { points: '0,0 3,0 0,3' } }]);
  for (const kind of ['probe', 'text']) {
    assert.deepEqual(shape(kind, [[5, 6]]), [{ element: 'circle', attributes: { cx: 5, cy: 6, r: 3 } }]);
  }
});

test('it marks the ellipse, rectangle and freehand as ROIs, and only they grab by the inside', () => {
  const rois = Object.keys(KINDS).filter((kind) => KINDS[kind].roi);
  assert.deepEqual(rois, ['ellipse', 'rectangle', 'freehand']);
  assert.ok(KINDS.ellipse.roi.inside([[0, 0], [10, 10]])(5, 5));
  assert.ok(!KINDS.ellipse.roi.inside([[0, 0], [10, 10]])(0, 0));
  const angle = { id: 1, kind: 'angle', points: [[0, 0], [20, 0], [0, 20]] };
  assert.equal(hitTest([angle], [5, 5], 1, { selected: 1 }), null);
});

test('a probe on a reduced preview reads no value and says so', () => {
  const frame = { samples: 1, columns: 2, rows: 1, values: [7, 9], slope: 1, intercept: 0 };
  const probe = { kind: 'probe', points: [[1, 0]] };
  assert.match(labelFor(probe, { pixel_spacing: [1, 1] }, frame, 'CT'), /stored 9 = 9\.0 HU/);
  const pending = 'value not available until full resolution';
  assert.equal(labelFor(probe, { pixel_spacing: [1, 1] }, null, 'CT', pending), `(1, 0) ${pending}`);
  const box = { kind: 'rectangle', points: [[0, 0], [2, 2]] };
  const text = labelFor(box, { pixel_spacing: [0.5, 0.5] }, null, 'CT', pending);
  assert.ok(text.startsWith('1.0 mm²') && text.endsWith(pending) && !/mean/.test(text));
});
