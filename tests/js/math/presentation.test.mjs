import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  annotationsFor, appliesTo, areaOnCanvas, fitArea, graphicShape, insideShutters, itemFor,
  shutterShapes, spatialPlacement, statesForSeries, textPlace, toCanvas, windowFor,
} from '../../../static/viewer/math/presentation.js';
import { edgeLabels } from '../../../static/viewer/math/orientation.js';
import { defaultPlacement, imageToCanvas } from '../../../static/viewer/math/transform.js';

const A = { sop_instance_uid: '1.1', frame: 1 };
const B = { sop_instance_uid: '1.2', frame: 1 };
const C = { sop_instance_uid: '1.3', frame: 2 };
const state = {
  sop_instance_uid: '9.9',
  applies_to: { 'S1': [{ sop_instance_uid: '1.1', frames: null }, { sop_instance_uid: '1.2', frames: null }, { sop_instance_uid: '1.3', frames: [1] }] },
  voi: [{ applies_to: [{ sop_instance_uid: '1.2', frames: null }], center: 400, width: 1800, function: 'LINEAR' },
    { applies_to: null, center: 40, width: 80, function: 'LINEAR' }],
  modality_lut: { slope: 1, intercept: -1024 },
  layers: [{ name: 'TOP', order: 2, colour: '#ff0000' }, { name: 'LOW', order: 1, colour: '#00ff00' }],
  annotations: [
    { layer: 'TOP', applies_to: null, graphics: [], texts: [] },
    { layer: 'LOW', applies_to: [{ sop_instance_uid: '1.1', frames: null }], graphics: [], texts: [] },
  ],
};
const image = { columns: 64, rows: 64, spacing: [1, 1] };
const canvas = { width: 400, height: 200 };
const at = (m, [u, v]) => [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]];
const close = (actual, expected) => actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${actual} ≠ ${expected}`));

test('a state applies to the images and frames it names only', () => {
  assert.ok(appliesTo(state, A));
  assert.ok(!appliesTo(state, C), 'frame 2 of 1.3 is not named');
  assert.ok(appliesTo(state, { sop_instance_uid: '1.3', frame: 1 }));
  assert.ok(!appliesTo(state, { sop_instance_uid: '7.7', frame: 1 }));
  assert.deepEqual(statesForSeries([state], { series_uid: 'S2', instances: [C] }), []);
  assert.deepEqual(statesForSeries([state], { series_uid: 'S1', instances: [] }), [state]);
});

test('the window is the item for the image, or the one for all, in the image units', () => {
  assert.deepEqual(windowFor(state, B, { slope: 1, intercept: -1024 }), { center: 400, width: 1800, function: 'LINEAR' });
  assert.deepEqual(windowFor(state, A, { slope: 1, intercept: -1024 }), { center: 40, width: 80, function: 'LINEAR' });
  assert.equal(windowFor(state, C, {}), null);
});

test('a state without a Modality LUT has its window in stored values (PS3.4 N.2.1.1)', () => {
  const plain = { ...state, modality_lut: null };
  // Center 40 is stored 40, HU -984 in a CT of intercept -1024; stored 1064 is HU 40.
  assert.deepEqual(windowFor(plain, A, { slope: 1, intercept: -1024 }), { center: -984, width: 80, function: 'LINEAR' });
  assert.deepEqual(windowFor({ ...plain, voi: [{ applies_to: null, center: 1064, width: 80, function: 'LINEAR' }] }, A, { slope: 1, intercept: -1024 }),
    { center: 40, width: 80, function: 'LINEAR' });
  // A frame without rescale shows stored values: the window as it is.
  assert.deepEqual(windowFor(plain, A, { slope: 1, intercept: 0 }), { center: 40, width: 80, function: 'LINEAR' });
  // A negative rescale turns the ramp round: said, so the view inverts.
  assert.deepEqual(windowFor(plain, A, { slope: -1, intercept: 0 }), { center: -40, width: 80, function: 'LINEAR', reversed: true });
});

test('a modality LUT override turns the state window into the image units', () => {
  // The state says HU (intercept -1024); the frame shows stored values (slope 1, intercept 0).
  assert.deepEqual(windowFor(state, A, { slope: 1, intercept: 0 }), { center: 1064, width: 80, function: 'LINEAR' });
  const doubled = windowFor(state, A, { slope: 2, intercept: 0 });
  assert.equal(doubled.center, 2128);
  assert.equal(doubled.width, 160);
});

test('rotation turns clockwise, then the flip mirrors (PS3.3 C.10.6: rotation before flip)', () => {
  assert.deepEqual(spatialPlacement({ rotation: 90 }), { rotation: 90, flipH: false, flipV: false });
  assert.deepEqual(spatialPlacement({ rotation: 90, flip_horizontal: true }), { rotation: 90, flipH: true, flipV: false });
  assert.deepEqual(spatialPlacement({ rotation: 270, flip_horizontal: true }), { rotation: 270, flipH: true, flipV: false });
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), ...spatialPlacement({ rotation: 90, flip_horizontal: true }) });
  const centre = at(m, [32, 32]);
  // The pixel right of the centre: a quarter turn clockwise (y down) puts it below the
  // centre; the horizontal flip then mirrors left and right, so it stays below.
  const right = at(m, [33, 32]);
  close([right[0] - centre[0], Math.sign(right[1] - centre[1])], [0, 1]);
  // The pixel below the centre: the turn puts it left of the centre, the flip to the right.
  const below = at(m, [32, 33]);
  close([Math.sign(below[0] - centre[0]), below[1] - centre[1]], [1, 0]);
});

test('orientation markers follow the state rotation', () => {
  const m = imageToCanvas(image, canvas, { ...defaultPlacement(), ...spatialPlacement({ rotation: 90 }) });
  // Axial turned a quarter clockwise: anterior (top) goes to the right.
  assert.deepEqual(edgeLabels([1, 0, 0, 0, 1, 0], m), { right: 'A', left: 'P', top: 'R', bottom: 'L' });
});

test('the displayed area fills the canvas and is centred', () => {
  const area = { top_left: [17, 17], bottom_right: [32, 48], size_mode: 'SCALE TO FIT' };
  const placement = defaultPlacement();
  const fit = fitArea(area, image, canvas, imageToCanvas, placement);
  const m = imageToCanvas(image, canvas, { ...placement, ...fit });
  const rect = areaOnCanvas(area, m);
  // 16 x 32 pixels in a 400 x 200 canvas: the height decides, 200 px tall, 100 wide.
  close([rect.x, rect.y, rect.width, rect.height], [150, 0, 100, 200]);
});

test('the displayed area fits after a quarter turn, and corners may come in any order', () => {
  const area = { top_left: [32, 48], bottom_right: [17, 17], size_mode: 'SCALE TO FIT' };
  const placement = { ...defaultPlacement(), rotation: 90 };
  const m = imageToCanvas(image, canvas, { ...placement, ...fitArea(area, image, canvas, imageToCanvas, placement) });
  const rect = areaOnCanvas(area, m);
  // Turned: 32 wide, 16 tall; the canvas is 2:1 too, so it fills it.
  close([rect.x, rect.y, rect.width, rect.height], [0, 0, 400, 200]);
});

test('MAGNIFY shows the area at its magnification, centred', () => {
  const area = { top_left: [1, 1], bottom_right: [64, 64], size_mode: 'MAGNIFY', magnification: 2 };
  const placement = defaultPlacement();
  const m = imageToCanvas(image, canvas, { ...placement, ...fitArea(area, image, canvas, imageToCanvas, placement) });
  close([m[0], m[3]], [2, 2]);
  close(at(m, [32, 32]), [200, 100]);
});

test('pixel points follow the matrix, display points the displayed area', () => {
  const m = [2, 0, 0, 2, 10, 20];
  assert.deepEqual(toCanvas([5, 5], 'PIXEL', m, null), [20, 30]);
  assert.deepEqual(toCanvas([0.5, 1], 'DISPLAY', m, { x: 100, y: 0, width: 200, height: 50 }), [200, 50]);
});

test('a circle is its centre and radius on the canvas; an ellipse keeps its axes', () => {
  const m = [3, 0, 0, 3, 0, 0];
  const circle = graphicShape({ type: 'CIRCLE', units: 'PIXEL', points: [[10, 10], [10, 14]] }, m, null);
  assert.deepEqual([circle.kind, circle.cx, circle.cy, circle.rx, circle.ry], ['ellipse', 30, 30, 12, 12]);
  const ellipse = graphicShape({ type: 'ELLIPSE', units: 'PIXEL', points: [[0, 10], [20, 10], [10, 5], [10, 15]] }, m, null);
  assert.deepEqual([ellipse.cx, ellipse.cy, ellipse.rx, ellipse.ry, ellipse.angle], [30, 30, 30, 15, 0]);
  const line = graphicShape({ type: 'POLYLINE', units: 'PIXEL', points: [[0, 0], [1, 0], [1, 1], [0, 0]] }, m, null);
  assert.equal(line.closed, true);
  assert.deepEqual(line.points[1], [3, 0]);
});

test('a text goes at its box top-left, with a line to a visible anchor', () => {
  const m = [2, 0, 0, 2, 0, 0];
  const place = textPlace({ box: [[10, 4], [30, 8]], box_units: 'PIXEL', anchor: [40, 40], anchor_units: 'PIXEL', anchor_visible: true }, m, null);
  assert.deepEqual(place, { x: 20, y: 8, width: 40, anchor: [80, 80] });
  const alone = textPlace({ box: null, anchor: [0.5, 0.5], anchor_units: 'DISPLAY', anchor_visible: false }, m, { x: 0, y: 0, width: 100, height: 100 });
  assert.deepEqual(alone, { x: 56, y: 56, width: 0, anchor: null });
});

test('the shutter shows what lies inside every shape: rectangle edges are pixels kept', () => {
  const shapes = shutterShapes({ shapes: [
    { shape: 'RECTANGULAR', left: 4, right: 60, top: 2, bottom: 62 },
    { shape: 'CIRCULAR', center: [32, 32], radius: 20 },
  ] });
  assert.deepEqual(shapes[0], { kind: 'rect', u0: 3, v0: 1, u1: 60, v1: 62 });
  assert.ok(insideShutters(shapes, [31.5, 31.5]));
  assert.ok(!insideShutters(shapes, [2, 31.5]), 'left of the rectangle');
  assert.ok(!insideShutters(shapes, [5, 5]), 'inside the rectangle, outside the circle');
  const polygon = shutterShapes({ shapes: [{ shape: 'POLYGONAL', points: [[1, 1], [11, 1], [1, 11]] }] });
  assert.ok(insideShutters(polygon, [2, 2]));
  assert.ok(!insideShutters(polygon, [9, 9]));
});

test('annotations for an image, lower layers first; items for all images apply everywhere', () => {
  assert.deepEqual(annotationsFor(state, A).map((a) => a.layer), ['LOW', 'TOP']);
  assert.deepEqual(annotationsFor(state, B).map((a) => a.layer), ['TOP']);
  assert.equal(itemFor(state.voi, B).center, 400);
});
