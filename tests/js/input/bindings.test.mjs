import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dragAction, wheelAction } from '../../../static/viewer/input/bindings.js';

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
