import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CORNERS, cornerLines, FRAME, IDENTITY, MPR_CORNERS, VIEWPORT_CORNERS,
} from '../../../static/viewer/math/corners.js';

const LINE = 16;
// Natural text widths (13 px) of the demo CT's lines.
const DEMO = {
  'patient-name': 110, 'patient-id': 85, study: 290, series: 90,
  image: 80, position: 230, thickness: 100, plane: 0, window: 70, zoom: 75, calibration: 0,
};

/** ``table``'s corners with the widths of ``widths`` (missing: no text), ``heights`` if any. */
function linesOf(widths = DEMO, table = VIEWPORT_CORNERS, heights = {}) {
  return Object.fromEntries(Object.entries(table).map(([corner, items]) => [corner, items.map((item) => ({
    ...item, width: widths[item.name] || 0, ...(heights[item.name] ? { height: heights[item.name] } : {}),
  }))]));
}

test('it drops the position line before the image number when the corner holds two lines', () => {
  // Half of 110 px less the side markers' band and padding holds two lines.
  const plan = cornerLines(linesOf(), { width: 800, height: 110 }, LINE);
  assert.deepEqual(plan.shown['bottom-left'], ['image', 'thickness']);
  assert.deepEqual(plan.shown['bottom-right'], ['window', 'zoom']);
});

test('it shows every line with text when there is room, in the order they are built', () => {
  const plan = cornerLines(linesOf(), { width: 1200, height: 900 }, LINE);
  assert.deepEqual(plan.shown, {
    'top-left': ['patient-name', 'patient-id'], 'top-right': ['study', 'series'],
    'bottom-left': ['image', 'position', 'thickness'], 'bottom-right': ['window', 'zoom'],
  });
  assert.deepEqual(plan.stacked, { top: false, bottom: false });
  assert.equal(plan.compact, false);
});

test('it gives a line without text no room', () => {
  const plan = cornerLines(linesOf({ ...DEMO, image: 0, thickness: 0 }), { width: 800, height: 110 }, LINE);
  assert.deepEqual(plan.shown['bottom-left'], ['position']);
});

test('it keeps the patient name and ID while every other line of the top edge is dropped', () => {
  const plan = cornerLines(linesOf(), { width: 800, height: 110 }, LINE);
  assert.deepEqual(plan.shown['top-left'], ['patient-name', 'patient-id']);
  assert.equal(plan.compact, false);
});

test('it keeps the name alone when one line fits, and says the viewport is compact', () => {
  // Stacked shows nothing at this height, so the corners stay apart: one line each.
  const plan = cornerLines(linesOf(), { width: 800, height: 80 }, LINE);
  assert.deepEqual(plan.shown['top-left'], ['patient-name']);
  assert.deepEqual(plan.shown['bottom-left'], ['image']);
  assert.deepEqual(plan.shown['bottom-right'], ['window']);
  assert.equal(plan.compact, true);
});

test('it counts a taller patient name at its own height', () => {
  // Half of 120 px holds 40 px: a 21 px name and a 16 px ID, or two 16 px lines and a bit.
  const plan = cornerLines(linesOf(DEMO, VIEWPORT_CORNERS, { 'patient-name': 21 }), { width: 800, height: 120 }, LINE);
  assert.deepEqual(plan.shown['top-left'], ['patient-name', 'patient-id']);
  const low = cornerLines(linesOf(DEMO, VIEWPORT_CORNERS, { 'patient-name': 21 }), { width: 800, height: 110 }, LINE);
  assert.deepEqual(low.shown['top-left'], ['patient-name']);
  assert.deepEqual(low.shown['bottom-left'], ['image', 'thickness']);
});

test('it shows no line while one above it in priority has no height', () => {
  // 35 px: the 40 px name does not fit, so neither does the ID below it in priority.
  const plan = cornerLines(linesOf(DEMO, VIEWPORT_CORNERS, { 'patient-name': 40 }), { width: 800, height: 110 }, LINE);
  assert.deepEqual(plan.shown['top-left'], []);
  assert.equal(plan.compact, true);
});

test('it drops the patient only when not even one line fits', () => {
  const plan = cornerLines(linesOf(), { width: 800, height: 40 }, LINE);
  for (const corner of CORNERS) assert.deepEqual(plan.shown[corner], []);
  assert.equal(plan.compact, true);
});

test('it never cuts a number: a whole line wider than its column is dropped, a text is cut', () => {
  // Columns of 300 / 2 - 8 - 26 = 116 px, one line high: too low to stack.
  const corners = {
    'top-left': [], 'top-right': [{ name: 'study', priority: 20, width: 290 }],
    'bottom-left': [{ name: 'position', priority: 30, width: 230, whole: true }], 'bottom-right': [],
  };
  const plan = cornerLines(corners, { width: 300, height: 80 }, LINE);
  assert.deepEqual(plan.stacked, { top: false, bottom: false });
  assert.deepEqual(plan.shown['top-right'], ['study']);
  assert.deepEqual(plan.shown['bottom-left'], []);
});

test('it stacks the bottom corners across the width when that shows the position', () => {
  const plan = cornerLines(linesOf(), { width: 400, height: 500 }, LINE);
  assert.equal(plan.stacked.bottom, true);
  assert.deepEqual(plan.shown['bottom-left'], ['image', 'position', 'thickness']);
  // The window and zoom are nearer the bottom edge; the left corner's lines stand over them.
  assert.deepEqual(plan.skip, { 'top-left': 0, 'top-right': 0, 'bottom-right': 0, 'bottom-left': 2 * LINE });
});

test('it stacks the corners of a phone viewport under the markers, so the name is not cut', () => {
  // The CT protocol's 1x3 on a phone: 124 px wide.
  const plan = cornerLines(linesOf(), { width: 124, height: 464 }, LINE);
  assert.deepEqual(plan.stacked, { top: true, bottom: true });
  assert.deepEqual(plan.shown['top-left'], ['patient-name', 'patient-id']);
  assert.deepEqual(plan.shown['top-right'], ['study', 'series']);
  assert.equal(plan.skip['top-right'], 2 * LINE);
  assert.deepEqual(plan.shown['bottom-left'], ['image', 'thickness']);
  assert.deepEqual(plan.shown['bottom-right'], ['window', 'zoom']);
  assert.equal(plan.compact, false);
});

test('it keeps the corners apart when stacking shows no more', () => {
  const plan = cornerLines(linesOf(), { width: 290, height: 140 }, LINE);
  assert.deepEqual(plan.stacked, { top: false, bottom: false });
  assert.deepEqual(plan.shown['top-left'], ['patient-name', 'patient-id']);
});

test('it makes room for the message in the middle', () => {
  const without = cornerLines(linesOf(), { width: 800, height: 180 }, LINE);
  const with_ = cornerLines(linesOf(), { width: 800, height: 180 }, LINE, { message: 80 });
  const count = (plan) => CORNERS.reduce((sum, corner) => sum + plan.shown[corner].length, 0);
  assert.ok(count(with_) < count(without));
  assert.deepEqual(with_.shown['top-left'], ['patient-name', 'patient-id']);
});

test('it keeps the MPR plane and slab before the position', () => {
  const widths = { 'patient-name': 110, 'patient-id': 85, plane: 60, slab: 70, position: 150, window: 70 };
  const plan = cornerLines(linesOf(widths, MPR_CORNERS), { width: 800, height: 80 }, LINE);
  assert.deepEqual(plan.shown['top-right'], ['plane']);
  assert.deepEqual(plan.shown['bottom-left'], ['position']);
});

test('the patient name and ID rank above every other line', () => {
  for (const table of [VIEWPORT_CORNERS, MPR_CORNERS]) {
    const all = Object.values(table).flat();
    const lowest = Math.min(...all.filter((item) => IDENTITY.includes(item.name)).map((item) => item.priority));
    assert.ok(all.every((item) => IDENTITY.includes(item.name) || item.priority < lowest));
  }
});

/** The boxes a plan puts on screen, each line as wide as its column could make it. */
function boxes(plan, size, widths, message, heights) {
  const f = FRAME;
  const middle = Math.max(f.marker, message);
  const found = [];
  for (const corner of CORNERS) {
    const [vertical, horizontal] = corner.split('-');
    const stacked = plan.stacked[vertical];
    const column = stacked ? size.width - 2 * f.padX : size.width / 2 - f.padX - f.markerHalf;
    const start = f.padY + (stacked ? f.marker + f.gap : 0) + plan.skip[corner];
    // From the edge inwards.
    const names = vertical === 'top' ? plan.shown[corner] : [...plan.shown[corner]].reverse();
    let fromEdge = start;
    for (const name of names) {
      const width = Math.min(widths[name], column);
      const height = heights[name] || LINE;
      const x = horizontal === 'left' ? f.padX : size.width - f.padX - width;
      const y = vertical === 'top' ? fromEdge : size.height - fromEdge - height;
      found.push({ name, x, y, width, height });
      fromEdge += height;
    }
  }
  // The markers, three letters wide at most: their half-width and a gap is markerHalf.
  const mark = 2 * (f.markerHalf - f.gap);
  found.push({ name: 'top', x: size.width / 2 - mark / 2, y: f.padY, width: mark, height: f.marker });
  found.push({ name: 'bottom', x: size.width / 2 - mark / 2, y: size.height - f.padY - f.marker, width: mark, height: f.marker });
  found.push({ name: 'left', x: f.padX, y: size.height / 2 - middle / 2, width: mark, height: middle });
  found.push({ name: 'right', x: size.width - f.padX - mark, y: size.height / 2 - middle / 2, width: mark, height: middle });
  if (message) found.push({ name: 'message', x: 0, y: size.height / 2 - message / 2, width: size.width, height: message });
  return found;
}

test('it puts no two texts over each other at any viewport size', () => {
  const meet = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const fixed = ['top', 'bottom', 'left', 'right', 'message'];
  const TALL = { 'patient-name': 21 };
  for (const message of [0, 50]) for (let width = 60; width <= 1400; width += 37) {
    for (let height = 40; height <= 1000; height += 23) {
      const size = { width, height };
      const plan = cornerLines(linesOf(DEMO, VIEWPORT_CORNERS, TALL), size, LINE, { message });
      const found = boxes(plan, size, DEMO, message, TALL);
      for (const [i, a] of found.entries()) {
        if (!fixed.includes(a.name)) assert.ok(a.y >= 0 && a.y + a.height <= height, `${a.name} inside ${width}x${height}`);
        for (const b of found.slice(i + 1)) {
          // Markers and the message keep apart by their own padding, not by this plan.
          if (fixed.includes(a.name) && fixed.includes(b.name)) continue;
          assert.ok(!meet(a, b), `${a.name} meets ${b.name} at ${width}x${height}`);
        }
      }
    }
  }
});

test('a reduced preview note is shown cut rather than dropped in a narrow viewport', () => {
  // Regression: in a viewport too narrow for its text, the note went and the preview
  // passed for the image.
  const widths = { ...DEMO, quality: 330 };
  const plan = cornerLines(linesOf(widths), { width: 60, height: 600 }, LINE);
  assert.ok(plan.shown['bottom-right'].includes('quality'), JSON.stringify(plan.shown));
  const wide = cornerLines(linesOf(widths), { width: 1200, height: 600 }, LINE);
  assert.equal(wide.shown['bottom-right'][0], 'quality');
});
