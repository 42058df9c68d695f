/**
 * Putting a series from the strip into a viewport: drag and drop with the mouse, a
 * finger dragging a ghost of the thumbnail on touch, a click or tap for the active one.
 * @module shell/series-drag
 */

const TYPE = 'application/x-series-uid';

/**
 * Let a viewport's element take series dropped on it.
 * @param {HTMLElement} element
 * @param {(seriesUid: string) => void} onDrop
 */
export function bindDrop(element, onDrop) {
  element.addEventListener('dragover', (event) => {
    event.preventDefault();
    element.classList.add('drop-target');
  });
  element.addEventListener('dragleave', () => element.classList.remove('drop-target'));
  element.addEventListener('drop', (event) => {
    event.preventDefault();
    element.classList.remove('drop-target');
    onDrop(event.dataTransfer.getData(TYPE));
  });
}

/**
 * A strip button: dragged (mouse or finger) onto a viewport, or clicked.
 * @param {HTMLElement} button carries data-series-uid
 * @param {{open: (seriesUid: string) => void,
 *   dropOn: (element: Element, seriesUid: string) => void}} actions ``dropOn`` gets
 *   the viewport element a finger let go over
 */
export function bindStripButton(button, { open, dropOn }) {
  button.addEventListener('dragstart', (event) => {
    event.dataTransfer.setData(TYPE, button.dataset.seriesUid);
    event.dataTransfer.effectAllowed = 'copy';
  });
  button.addEventListener('click', () => open(button.dataset.seriesUid));
  bindTouchDrag(button, dropOn);
}

// Touch has no HTML drag and drop: follow the finger with a ghost of the thumbnail
// and drop the series on the viewport under it.
function bindTouchDrag(button, dropOn) {
  let touch = null;
  button.addEventListener('pointerdown', (event) => {
    if (event.pointerType !== 'touch') return;
    touch = { id: event.pointerId, x: event.clientX, y: event.clientY, ghost: null };
  });
  button.addEventListener('pointermove', (event) => {
    if (!touch || event.pointerId !== touch.id) return;
    if (!touch.ghost && Math.hypot(event.clientX - touch.x, event.clientY - touch.y) > 12) {
      touch.ghost = button.cloneNode(true);
      touch.ghost.classList.add('drag-ghost');
      document.body.append(touch.ghost);
      button.setPointerCapture(event.pointerId);
    }
    if (touch.ghost) {
      touch.ghost.style.left = `${event.clientX - 40}px`;
      touch.ghost.style.top = `${event.clientY - 40}px`;
    }
  });
  const finish = (event) => {
    if (!touch || event.pointerId !== touch.id) return;
    if (touch.ghost) {
      touch.ghost.remove();
      const target = document.elementFromPoint(event.clientX, event.clientY)?.closest('.viewport');
      if (target) dropOn(target, button.dataset.seriesUid);
      event.preventDefault();
    }
    touch = null;
  };
  button.addEventListener('pointerup', finish);
  button.addEventListener('pointercancel', (event) => { touch?.ghost?.remove(); touch = null; finish(event); });
}
