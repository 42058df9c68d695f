import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  burnInLayout, collisions, DROP_ORDER, IDENTITY, intersects,
} from '../../../static/viewer/tools/burn-in.js';

// Text sizes as a 13 px overlay font measures them (CSS pixels at ratio 1).
const items = () => [
  { name: 'patient-name', corner: 'top-left', width: 120, height: 17 },
  { name: 'patient-id', corner: 'top-left', width: 90, height: 15 },
  { name: 'study', corner: 'top-right', width: 260, height: 15 },
  { name: 'series', corner: 'top-right', width: 90, height: 15 },
  { name: 'image', corner: 'bottom-left', width: 80, height: 15 },
  { name: 'position', corner: 'bottom-left', width: 190, height: 15 },
  { name: 'thickness', corner: 'bottom-left', width: 90, height: 15 },
  { name: 'window', corner: 'bottom-right', width: 80, height: 15 },
  { name: 'zoom', corner: 'bottom-right', width: 70, height: 15 },
  { name: 'left', corner: 'left', width: 10, height: 19 },
  { name: 'right', corner: 'right', width: 10, height: 19 },
  { name: 'top', corner: 'top', width: 10, height: 19 },
  { name: 'bottom', corner: 'bottom', width: 10, height: 19 },
];

const names = (layout) => layout.rects.map((r) => r.name);
const inImage = (layout) => layout.rects.filter((r) => !r.band);

test('texts that stand apart on screen stay exactly where they are', () => {
  const placed = items().map((item, i) => ({ ...item, rect: { x: 10, y: 20 * i, width: item.width, height: item.height } }));
  const layout = burnInLayout({ width: 1000, height: 800 }, placed);
  assert.equal(layout.band, 0);
  assert.deepEqual(layout.rects.map((r) => [r.x, r.y]), placed.map((p) => [p.rect.x, p.rect.y]));
});

// Regression (issue 13): the name was burnt in under the study line and the marker.
test('colliding screen texts are laid out again, none over another', () => {
  const placed = items().map((item) => ({ ...item, rect: { x: 8, y: 6, width: item.width, height: item.height } }));
  const size = { width: 700, height: 500 };
  const layout = burnInLayout(size, placed);
  assert.equal(layout.band, 0);
  assert.deepEqual(collisions(layout.rects, size), []);
  assert.deepEqual(names(layout).sort(), items().map((i) => i.name).sort(), 'all fit at this size');
});

test('texts that do not fit a narrow viewport move into the band with the patient', () => {
  const size = { width: 330, height: 300 };
  const layout = burnInLayout(size, items());
  assert.deepEqual(collisions(inImage(layout), size), []);
  assert.deepEqual(names(layout).sort(), items().map((i) => i.name).sort(), 'nothing is left out');
  const band = layout.rects.filter((r) => r.band);
  assert.deepEqual(band.slice(0, 2).map((r) => r.name), IDENTITY);
  for (const r of band.slice(2)) assert.ok(DROP_ORDER.includes(r.name), `${r.name} must stay on the image`);
  for (const name of ['left', 'right', 'top', 'bottom']) assert.ok(inImage(layout).some((r) => r.name === name), name);
});

test('a viewport too small for the name puts the patient in a band above the image', () => {
  // A phone's three viewports side by side: 124 px wide each.
  const size = { width: 124, height: 300 };
  const layout = burnInLayout(size, items());
  assert.ok(layout.band > 0);
  const band = layout.rects.filter((r) => r.band);
  assert.deepEqual(band.slice(0, 2).map((r) => r.name), IDENTITY);
  for (const r of band) assert.ok(r.x >= 0 && r.x + r.width <= size.width && r.y + r.height <= layout.band);
  assert.deepEqual(collisions(band, { width: size.width, height: layout.band }), []);
  assert.deepEqual(collisions(inImage(layout), size), []);
  for (const name of ['left', 'right', 'top', 'bottom']) assert.ok(inImage(layout).some((r) => r.name === name));
  assert.deepEqual(names(layout).sort(), items().map((i) => i.name).sort(), 'nothing is left out');
});

test('rectangles that only touch do not intersect', () => {
  assert.equal(intersects({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 5, height: 5 }), false);
  assert.equal(intersects({ x: 0, y: 0, width: 10, height: 10 }, { x: 9, y: 9, width: 5, height: 5 }), true);
});

// Regression (review): a name wrapped on screen was burnt in as one line over the marker.
test('a text without a one-line place on screen makes all of them laid out again', () => {
  const placed = items().map((item, i) => ({ ...item, rect: { x: 10, y: 20 * i, width: item.width, height: item.height } }));
  placed[0].rect = null; // the name, wrapped over two lines on screen
  const size = { width: 1000, height: 800 };
  const layout = burnInLayout(size, placed);
  assert.deepEqual(collisions(layout.rects, size), []);
  const name = layout.rects.find((r) => r.name === 'patient-name');
  assert.equal(name.width, 120, 'drawn at its one-line width');
});

// Issue 14: the screen fits what an export without patient data carries, but a cut name
// (or a line the screen had no room for) sends the patient into a band.
test('it keeps the texts of the plain export where they stand when the patient takes a band', () => {
  const size = { width: 128, height: 600 };
  const keep = ['window', 'zoom', 'left', 'right', 'top', 'bottom'];
  // Stacked over the bottom marker, as overlays.css puts them on a 128 px viewport.
  const screen = {
    window: { x: 46, y: 538, width: 74, height: 16 }, zoom: { x: 59, y: 554, width: 61, height: 16 },
    left: { x: 8, y: 290, width: 12, height: 20 }, right: { x: 110, y: 290, width: 10, height: 20 },
    top: { x: 58, y: 6, width: 12, height: 20 }, bottom: { x: 58, y: 574, width: 11, height: 20 },
    series: { x: 21, y: 60, width: 98, height: 16 },
  };
  const placed = items().map((item) => ({ ...item, rect: screen[item.name] || null }));
  const layout = burnInLayout(size, placed, 6, keep);
  assert.ok(layout.band > 0);
  assert.deepEqual(inImage(layout).map((r) => [r.name, r.x, r.y]), keep.map((name) => [name, screen[name].x, screen[name].y]));
  const band = layout.rects.filter((r) => r.band).map((r) => r.name);
  assert.deepEqual(band, items().map((i) => i.name).filter((name) => !keep.includes(name)));
});

test('it lays the plain texts out again when they meet on screen', () => {
  const size = { width: 124, height: 300 };
  const keep = ['window', 'zoom', 'left', 'right', 'top', 'bottom'];
  const placed = items().map((item) => ({ ...item, rect: keep.includes(item.name) ? { x: 8, y: 6, width: item.width, height: item.height } : null }));
  const layout = burnInLayout(size, placed, 6, keep);
  assert.deepEqual(collisions(inImage(layout), size), []);
  assert.deepEqual(names(layout).sort(), items().map((i) => i.name).sort(), 'nothing is left out');
});
