/**
 * MPR's pointer, touch and wheel input on each pane: crosshair, pan, window, pinch and
 * wheel zoom, paging, and drawing a length in the pane's plane.
 * @module mpr/input
 */
import { dragAction, wheelAction } from '../input/bindings.js';
import { fromPane } from '../math/mpr.js';
import { dragWindow } from '../math/voi.js';

/** Listen to pane ``name`` of MPR view ``mpr``. */
export function bindPaneInput(mpr, name, pane) {
  const pointers = new Map();
  let drag = null;
  const pinch = () => {
    const [p, q] = [...pointers.values()];
    return { distance: Math.hypot(p[0] - q[0], p[1] - q[1]) || 1, mid: [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2] };
  };
  pane.addEventListener('contextmenu', (event) => event.preventDefault());
  pane.addEventListener('pointerdown', (event) => {
    mpr.activate(name);
    if (!mpr.state.ready) return;
    mpr.interacting();
    // A pointer already lifted by the time a busy page handles its press cannot be
    // captured; the press still counts.
    try { pane.setPointerCapture(event.pointerId); } catch { /* not active any more */ }
    const ratio = mpr.canvasRatio();
    const point = mpr.panePoint(name, event, ratio);
    pointers.set(event.pointerId, point);
    const view = { ...mpr.state.panes[name] };
    // The same bindings as a stack viewport's (input/bindings.js); a left drag here
    // moves the crosshair, and only the length tool draws.
    const action = dragAction(event, { pointers: pointers.size, tool: mpr.options.tool?.() || '' });
    if (action === 'pinch') {
      drag = { mode: 'pinch', view, start: pinch() };
      mpr.draft = null; // a second finger: a pinch, not the end of a length
    }
    else if (action === 'pan') drag = { mode: 'pan', view, point, ratio, k: mpr.pixelScale() };
    else if (action === 'window') drag = { mode: 'window', window: { ...mpr.state.view }, x: event.clientX, y: event.clientY };
    else if (action === 'tool' && mpr.options.tool?.() === 'length') {
      // Both ends in the plane the length was started on, whatever moves meanwhile.
      const mapping = mpr.mapping(name);
      const start = fromPane(mapping, ...point);
      drag = { mode: 'length', point, mapping, ratio };
      mpr.draft = { points: [start, start] };
      mpr.requestDraw();
    } else {
      // Only lengths are certain on a reformat: say so rather than ignore the tool.
      if (!['', 'cursor'].includes(mpr.options.tool?.() || '')) mpr.notice(mpr.t.onlyLength);
      drag = { mode: 'crosshair' };
      mpr.setCrosshair(fromPane(mpr.mapping(name), ...point));
    }
  });
  pane.addEventListener('pointermove', (event) => {
    if (!drag || !pointers.has(event.pointerId)) return;
    mpr.interacting();
    // A length and a pan measure the pointer in the canvas pixels of their start (the
    // canvas may have been drawn smaller since); the rest in those of now.
    const point = mpr.panePoint(name, event, drag.ratio);
    pointers.set(event.pointerId, point);
    if (drag.mode === 'crosshair') mpr.setCrosshair(fromPane(mpr.mapping(name), ...point));
    else if (drag.mode === 'length') {
      mpr.draft = { points: [mpr.draft.points[0], fromPane(drag.mapping, ...point)] };
      drag.end = point;
      mpr.requestDraw();
    }
    else if (drag.mode === 'pan') {
      const { k } = drag;
      mpr.state.panes[name] = {
        ...drag.view, panX: drag.view.panX + (point[0] - drag.point[0]) / k, panY: drag.view.panY + (point[1] - drag.point[1]) / k,
      };
      mpr.requestDraw();
    } else if (drag.mode === 'window') {
      const range = Math.max((mpr.volume.max - mpr.volume.min), 1);
      const next = dragWindow(drag.window, event.clientX - drag.x, event.clientY - drag.y, range / 512);
      mpr.setWindow(next.center, next.width);
    } else if (drag.mode === 'pinch' && pointers.size >= 2) {
      const now = pinch();
      zoomPane(mpr, name, drag.view, now.distance / drag.start.distance, drag.start.mid,
        [now.mid[0] - drag.start.mid[0], now.mid[1] - drag.start.mid[1]]);
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size) return;
    // Only a pointer lifted ends a length; one the browser cancelled drew nothing.
    if (drag?.mode === 'length' && event.type === 'pointerup') finishLength(mpr, drag);
    else if (drag?.mode === 'length') discardLength(mpr);
    drag = null;
  };
  pane.addEventListener('pointerup', release);
  pane.addEventListener('pointercancel', release);
  pane.addEventListener('lostpointercapture', release);
  pane.addEventListener('wheel', (event) => {
    event.preventDefault();
    if (!mpr.state.ready || mpr.draft) return; // a length being drawn keeps its plane
    mpr.activate(name);
    mpr.interacting();
    if (wheelAction(event) === 'zoom') {
      zoomPane(mpr, name, mpr.state.panes[name], event.deltaY < 0 ? 1.1 : 1 / 1.1, mpr.panePoint(name, event));
    } else {
      mpr.page(name, event.deltaY > 0 ? 1 : -1);
    }
  }, { passive: false });
  pane.addEventListener('dblclick', () => {
    mpr.element.classList.toggle('maximised');
    pane.classList.toggle('maximised');
    mpr.requestDraw();
  });
}

function discardLength(mpr) {
  mpr.draft = null;
  mpr.requestDraw();
}

/** A length dragged on a pane: saved unless it was only a click. */
function finishLength(mpr, drag) {
  const { draft } = mpr;
  mpr.draft = null;
  mpr.requestDraw();
  const moved = drag.end && Math.hypot(drag.end[0] - drag.point[0], drag.end[1] - drag.point[1]);
  if (!draft || !(moved >= 3)) return;
  mpr.options.onMeasure?.({
    space: 'patient', kind: 'length', series_uid: mpr.options.series.series_uid,
    frame_of_reference_uid: mpr.frameOfReference, points: draft.points,
  });
}

/** Zoom pane ``name`` by ``factor`` about a pane point, then pan by ``shift``. */
export function zoomPane(mpr, name, start, factor, [x, y], shift = [0, 0]) {
  const zoom = Math.min(Math.max(start.zoom * factor, 0.2), 40);
  const applied = zoom / start.zoom;
  const rect = mpr.paneRect(name);
  const k = mpr.pixelScale();
  // Keep the point under the pointer where it is (in this canvas' pixels, then back).
  const panX = x - rect.width / 2 - applied * (x - rect.width / 2 - start.panX * k) + shift[0];
  const panY = y - rect.height / 2 - applied * (y - rect.height / 2 - start.panY * k) + shift[1];
  mpr.state.panes[name] = { zoom, panX: panX / k, panY: panY / k };
  mpr.requestDraw();
}
