/**
 * What a press, drag or wheel does on an image, in one table that stack viewports and
 * MPR panes share. Pure.
 * @module input/bindings
 */

/**
 * Drag bindings, first match wins. ``primary`` is the viewport's own left drag: on a
 * stack, windowing or scrolling (the drag mode); on MPR, the crosshair. ``tool`` is
 * the chosen measuring tool. A second finger always makes a pinch.
 */
export const DRAG_BINDINGS = Object.freeze([
  { pointers: 2, action: 'pinch' },
  { button: 1, action: 'pan' },
  { button: 2, action: 'pan' },
  { shift: true, action: 'pan' },
  { ctrl: true, action: 'window' },
  { tool: true, action: 'tool' },
  { action: 'primary' },
]);

/** Wheel bindings: Ctrl (or Cmd) with the wheel zooms, the wheel alone pages. */
export const WHEEL_BINDINGS = Object.freeze([
  { ctrl: true, action: 'zoom' },
  { action: 'page' },
]);

/**
 * The action of a press: 'pinch', 'pan', 'window', 'tool' or 'primary'.
 * @param {{button?: number, shiftKey?: boolean, ctrlKey?: boolean, metaKey?: boolean}} event
 * @param {{pointers?: number, tool?: string}} context pointers down (this one included)
 *   and the measuring tool chosen ('' for none)
 * @returns {string}
 */
export function dragAction(event, { pointers = 1, tool = '' } = {}) {
  const facts = {
    pointers,
    button: event.button ?? 0,
    shift: Boolean(event.shiftKey),
    ctrl: Boolean(event.ctrlKey || event.metaKey),
    tool: Boolean(tool),
  };
  return matching(DRAG_BINDINGS, facts);
}

/**
 * The action of a wheel turn: 'zoom' or 'page'.
 * @param {{ctrlKey?: boolean, metaKey?: boolean}} event
 * @returns {string}
 */
export function wheelAction(event) {
  return matching(WHEEL_BINDINGS, { ctrl: Boolean(event.ctrlKey || event.metaKey) });
}

function matching(bindings, facts) {
  const binding = bindings.find((b) => Object.entries(b)
    .every(([key, value]) => key === 'action' || (key === 'pointers' ? facts.pointers >= value : facts[key] === value)));
  return binding.action;
}
