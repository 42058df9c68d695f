import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dragAction, tapKind, wheelAction } from '../../../static/viewer/input/bindings.js';

test('it gives a plain left drag to the viewport’s own primary action', () => {
  assert.equal(dragAction({ button: 0 }), 'primary');
});

test('it pans with the middle button, the right button or Shift, on stacks and MPR alike', () => {
  assert.equal(dragAction({ button: 1 }), 'pan');
  assert.equal(dragAction({ button: 2 }), 'pan');
  assert.equal(dragAction({ button: 0, shiftKey: true }), 'pan');
  assert.equal(dragAction({ button: 0, shiftKey: true }, { tool: 'length' }), 'pan');
});

test('it windows with Ctrl or Cmd and a left drag', () => {
  assert.equal(dragAction({ button: 0, ctrlKey: true }), 'window');
  assert.equal(dragAction({ button: 0, metaKey: true }), 'window');
});

test('it hands a left drag to the chosen measuring tool', () => {
  assert.equal(dragAction({ button: 0 }, { tool: 'length' }), 'tool');
  assert.equal(dragAction({ button: 0 }, { tool: '' }), 'primary');
  assert.equal(dragAction({ button: 2 }, { tool: 'length' }), 'pan', 'the right button still pans');
});

test('it makes a pinch of a second finger, whatever the tool', () => {
  assert.equal(dragAction({ button: 0 }, { pointers: 2, tool: 'length' }), 'pinch');
  assert.equal(dragAction({ button: 0, shiftKey: true }, { pointers: 3 }), 'pinch');
});

test('it zooms with Ctrl and the wheel and pages with the wheel alone', () => {
  assert.equal(wheelAction({ ctrlKey: true }), 'zoom');
  assert.equal(wheelAction({ metaKey: true }), 'zoom');
  assert.equal(wheelAction({}), 'page');
});

test('it makes a double tap of two quick taps in one place, and nothing else', () => {
  const first = { x: 100, y: 100, down: 0, up: 80, moved: 2 };
  assert.deepEqual(tapKind(first, null), { tap: true, double: false });
  const second = { x: 108, y: 96, down: 200, up: 260, moved: 1 };
  assert.deepEqual(tapKind(second, first), { tap: true, double: true });
  assert.equal(tapKind({ ...second, down: 600, up: 650 }, first).double, false, 'too late');
  assert.equal(tapKind({ ...second, x: 160 }, first).double, false, 'too far');
  assert.equal(tapKind({ ...second, moved: 25 }, first).tap, false, 'a drag is no tap');
  assert.equal(tapKind({ ...second, up: 900 }, first).tap, false, 'a press is no tap');
});
