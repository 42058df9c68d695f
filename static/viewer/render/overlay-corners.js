/**
 * The four corners of text over an image (a viewport or an MPR pane): their markup, and
 * at each draw which of their lines show, so that no two texts meet (math/corners.js
 * decides; static/css/overlays.css places them).
 * @module render/overlay-corners
 */
import { CORNERS, cornerLines, FRAME } from '../math/corners.js';

// Lines that are also found by class (tests, the export's burn-in).
const CLASSES = Object.freeze(['patient-name', 'patient-id', 'study']);

// The custom properties of overlays.css that hold FRAME's measures.
const MEASURES = Object.freeze({
  padX: '--o-pad-x', padY: '--o-pad-y', marker: '--o-marker', markerHalf: '--o-marker-half', gap: '--o-gap',
});

/**
 * The corners' markup for ``table`` (math/corners.js VIEWPORT_CORNERS or MPR_CORNERS):
 * a column of one-line blocks each, named by data-o.
 * @param {Object<string, Array<{name: string}>>} table
 * @returns {string}
 */
export function cornersTemplate(table) {
  const line = ({ name }) => `<div class="line${CLASSES.includes(name) ? ` ${name}` : ''}" data-o="${name}"></div>`;
  return CORNERS.map((corner) => `<div class="overlay ${corner}">${table[corner].map(line).join('')}</div>`).join('\n');
}

let measurer = null;
const widths = new Map(); // font and text -> width: most texts stay the same from draw to draw

/** How wide ``text`` is set in ``style``'s font, CSS px; measured off-screen, no layout. */
function textWidth(style, text) {
  const font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const key = `${font}\n${text}`;
  if (!widths.has(key)) {
    measurer ||= document.createElement('canvas').getContext('2d');
    if (measurer.font !== font) measurer.font = font;
    if (widths.size > 500) widths.clear();
    widths.set(key, measurer.measureText(text).width);
  }
  return widths.get(key);
}

/** A custom property of ``style`` in px, or ``fallback`` when it is not set. */
function measure(style, property, fallback) {
  const value = parseFloat(style.getPropertyValue(property));
  return Number.isFinite(value) ? value : fallback;
}

/**
 * Show the lines of ``box``'s corners that fit its size, hide the others (``hidden``),
 * and set data-compact="true" on ``box`` when the patient's name or ID had no room.
 * ``message``: the box's message in the middle, kept clear of the side markers.
 * ``size``: the box's size in CSS px when the caller has it (then, without a message,
 * this reads no layout: it runs at every draw). Nothing changes while ``box`` is not on
 * screen (no size); its next resize draws again.
 * @param {HTMLElement} box a .viewport or .mpr-pane
 * @param {Object<string, Array<{name: string, priority: number, whole?: boolean}>>} table
 * @param {HTMLElement | null} [message]
 * @param {{width: number, height: number}} [size]
 */
export function fitCorners(box, table, message = null, size = box.getBoundingClientRect()) {
  if (!size.width || !size.height) return;
  const corners = Object.fromEntries(CORNERS.map((corner) => [corner, box.querySelector(`.overlay.${corner}`)]));
  const style = getComputedStyle(box);
  const frame = Object.fromEntries(Object.entries(MEASURES)
    .map(([key, property]) => [key, measure(style, property, FRAME[key])]));
  const lineHeight = parseFloat(getComputedStyle(corners['top-left']).lineHeight) || 16;
  const lines = Object.fromEntries(CORNERS.map((corner) => [corner, table[corner].map((spec) => {
    const element = corners[corner].querySelector(`[data-o="${spec.name}"]`);
    // As the line sets it: spaces collapsed, none at the ends.
    const text = element.textContent.replace(/\s+/g, ' ').trim();
    if (!text) return { ...spec, width: 0, height: 0 };
    const font = getComputedStyle(element);
    return { ...spec, width: textWidth(font, text), height: parseFloat(font.lineHeight) || lineHeight };
  })]));
  if (message?.textContent.trim()) {
    const sides = [...box.querySelectorAll('.marker.left, .marker.right')]
      .map((marker) => (marker.textContent.trim() ? marker.offsetWidth : 0));
    message.style.setProperty('--o-side', `${frame.padX + Math.max(0, ...sides) + frame.gap}px`);
    frame.message = message.getBoundingClientRect().height;
  }
  const plan = cornerLines(lines, size, lineHeight, frame);
  // Write only what changed: at every draw, most of it has not.
  for (const [corner, element] of Object.entries(corners)) {
    for (const line of element.children) {
      const hidden = !plan.shown[corner].includes(line.dataset.o);
      if (line.hidden !== hidden) line.hidden = hidden;
    }
    const stacked = plan.stacked[corner.split('-')[0]];
    if (element.hasAttribute('data-stacked') !== stacked) element.toggleAttribute('data-stacked', stacked);
    const skip = `${plan.skip[corner]}px`;
    if (element.style.getPropertyValue('--o-skip') !== skip) element.style.setProperty('--o-skip', skip);
  }
  if (plan.compact && box.dataset.compact !== 'true') box.dataset.compact = 'true';
  if (!plan.compact && 'compact' in box.dataset) delete box.dataset.compact;
}
