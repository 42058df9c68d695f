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

/** Two taps within this many ms and px are a double tap (the browsers' own range). */
export const DOUBLE_TAP = Object.freeze({ ms: 400, px: 30, still: 10 });

/**
 * Whether a finger's touch was a tap (it lifted near where it came down, soon) and,
 * with the tap before it, a double tap.
 * @param {{x: number, y: number, down: number, up: number, moved: number}} touch where it
 *   lifted, when it came down and lifted (ms), and the farthest it strayed (px)
 * @param {{x: number, y: number, up: number}|null} previous the tap before, if any
 * @returns {{tap: boolean, double: boolean}}
 */
export function tapKind(touch, previous) {
  const tap = touch.moved < DOUBLE_TAP.still && touch.up - touch.down < DOUBLE_TAP.ms;
  const double = tap && Boolean(previous) && touch.down - previous.up < DOUBLE_TAP.ms
    && Math.hypot(touch.x - previous.x, touch.y - previous.y) < DOUBLE_TAP.px;
  return { tap, double };
}
