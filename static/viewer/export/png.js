/**
 * A viewport as a PNG: the rendered canvas, its annotation layer and chosen overlay
 * texts, composed on a canvas of the same size. Which texts is decided in tools/export.js.
 * @module export/png
 */
import { burnInLayout } from '../tools/burn-in.js';
import {
  exportedOverlays, FILM_PANE_OVERLAYS, MAX_FILM_PNG_SIDE, mprFilmCaption,
} from '../tools/export.js';

// Presentation properties the SVG layer takes from the page's style sheet; an SVG drawn
// as an image sees no style sheet, so they are written onto each element.
const SVG_STYLE = [
  'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'fill', 'fill-opacity',
  'opacity', 'font-family', 'font-size', 'font-weight', 'paint-order',
];

/**
 * The annotation layer as an image the size of the canvas, or null when it is empty.
 * @param {SVGSVGElement} svg
 * @param {number} width canvas pixels
 * @param {number} height canvas pixels
 * @returns {Promise<HTMLImageElement | null>}
 */
async function annotationImage(svg, width, height) {
  if (!svg.childElementCount) return null;
  const box = svg.getBoundingClientRect();
  const copy = svg.cloneNode(true);
  const originals = svg.querySelectorAll('*');
  copy.querySelectorAll('*').forEach((element, i) => {
    const style = getComputedStyle(originals[i]);
    const inline = SVG_STYLE.map((name) => `${name}:${style.getPropertyValue(name)}`);
    // Labels have a CSS text shadow on screen; a dark rim keeps them readable the same way.
    if (element.tagName === 'text') inline.push('stroke:#000', 'stroke-width:3px', 'stroke-opacity:0.7', 'paint-order:stroke');
    element.setAttribute('style', inline.join(';'));
  });
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(width));
  copy.setAttribute('height', String(height));
  copy.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(copy))}`;
  await image.decode();
  return image;
}

/** Overlay elements inside ``root`` by their name (data-o attribute or class). */
function overlayElement(root, name) {
  return root.querySelector(`[data-o="${name}"]`) || root.querySelector(`.overlay .${name}`);
}

/** Which corner or edge an overlay stands in, from its box's class. */
function cornerOf(element) {
  const marker = element.closest('.marker');
  if (marker) return ['left', 'right', 'top', 'bottom'].find((edge) => marker.classList.contains(edge));
  const box = element.closest('.overlay');
  return ['top-left', 'top-right', 'bottom-left', 'bottom-right'].find((c) => box?.classList.contains(c)) || 'top-left';
}

/**
 * The chosen overlay texts with their font, colour, corner, size at output scale and
 * where they stand on screen (output pixels).
 */
function overlayTexts(context, root, origin, ratio, names) {
  const texts = [];
  for (const name of names) {
    const element = overlayElement(root, name);
    const text = element?.textContent.trim();
    const box = element?.getBoundingClientRect();
    // A line with no room on screen (hidden) is laid out again, like a wrapped one.
    if (!text || (!box.width && !element.hidden)) continue;
    const style = getComputedStyle(element);
    const size = parseFloat(style.fontSize) * ratio;
    const font = (scale) => `${style.fontWeight} ${size * scale}px ${style.fontFamily}`;
    context.font = font(1);
    const width = context.measureText(text).width;
    // The file gets each text on one line: one wrapped on screen has no screen place to
    // keep, so the texts are laid out again.
    const oneLine = element.getClientRects().length === 1;
    texts.push({
      name, text, font, color: style.color, corner: cornerOf(element),
      width, height: oneLine ? Math.max(box.height * ratio, size * 1.2) : size * 1.3,
      rect: oneLine ? {
        x: (box.left - origin.left) * ratio, y: (box.top - origin.top) * ratio,
        width: Math.max(box.width * ratio, width), height: box.height * ratio,
      } : null,
    });
  }
  return texts;
}

/** Draw the laid-out texts; those in the band above the image, those on it below. */
function drawTexts(context, texts, layout, ratio) {
  const byName = new Map(texts.map((t) => [t.name, t]));
  context.textBaseline = 'middle';
  context.shadowColor = '#000';
  context.shadowBlur = 3 * ratio;
  for (const rect of layout.rects) {
    const text = byName.get(rect.name);
    context.font = text.font(rect.scale);
    context.fillStyle = text.color;
    const top = rect.band ? rect.y : rect.y + layout.band;
    context.fillText(text.text, rect.x, top + rect.height / 2);
  }
}

/**
 * A PNG of ``rect`` (canvas pixels) of ``canvas``, with the annotation layer ``svg``
 * that covers ``root`` and the ``overlays`` of ``root`` (names), scaled down to
 * ``maxSide`` pixels when larger. Overlay texts stand where they do on screen unless
 * two would meet there (tools/burn-in.js): then the patient may get a band above.
 */
async function composePng({ canvas, rect, svg, root, overlays, maxSide = Infinity }) {
  const scale = Math.min(1, maxSide / Math.max(rect.width, rect.height));
  const width = Math.max(1, Math.floor(rect.width * scale));
  const height = Math.max(1, Math.floor(rect.height * scale));
  const ratio = (canvas.width / canvas.getBoundingClientRect().width) * scale;
  const out = document.createElement('canvas');
  const context = out.getContext('2d');
  const texts = overlayTexts(context, root, root.getBoundingClientRect(), ratio, overlays);
  // With the patient in a band, the image stays as exported without patient data.
  const layout = burnInLayout({ width, height }, texts, 6 * ratio, exportedOverlays(false));
  out.width = width;
  out.height = height + layout.band;
  context.fillStyle = '#000';
  context.fillRect(0, 0, out.width, out.height);
  context.drawImage(canvas, rect.x, rect.y, rect.width, rect.height, 0, layout.band, width, height);
  const annotations = await annotationImage(svg, width, height);
  if (annotations) context.drawImage(annotations, 0, layout.band, width, height);
  drawTexts(context, texts, layout, ratio);
  return new Promise((resolve, reject) => {
    out.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}

/**
 * The viewport as shown, as a PNG the size of its canvas.
 * @param {import('../viewport.js').Viewport} viewport
 * @param {{burnIn: boolean}} options patient data only when ``burnIn``
 * @returns {Promise<Blob>}
 */
export function viewportPng(viewport, { burnIn }) {
  // Draw now, so the canvas holds exactly the current state (WebGL keeps its buffer).
  viewport.draw();
  const { canvas } = viewport;
  return composePng({
    canvas, rect: { x: 0, y: 0, width: canvas.width, height: canvas.height },
    svg: viewport.svg, root: viewport.element, overlays: exportedOverlays(burnIn),
  });
}

/**
 * One MPR pane as shown, sharp, with its crosshair lines, as a PNG.
 * @param {import('../mpr/view.js').MprView} mpr
 * @param {string} name axial, coronal, sagittal or oblique
 * @param {{burnIn: boolean}} options
 * @returns {Promise<Blob>}
 */
export function mprPanePng(mpr, name, { burnIn }) {
  mpr.drawSharp();
  return composePane(mpr, name, exportedOverlays(burnIn));
}

/** Pane ``name`` as the MPR canvas holds it now, with its lines and ``overlays``. */
function composePane(mpr, name, overlays, maxSide) {
  const pane = mpr.panes.get(name);
  return composePng({
    canvas: mpr.canvas, rect: mpr.paneRect(name), svg: pane.querySelector('svg'), root: pane, overlays, maxSide,
  });
}

/** A blob's bytes in base64. */
async function base64Of(blob) {
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(',') + 1);
}

/**
 * MPR panes as film images for the server: each pane as shown with its crosshair
 * lines and orientation markers but no patient data (the film's header names the
 * patient), captioned with its series number, plane, slab and window as written on
 * the pane. The view is drawn sharp once for all of them.
 * @param {import('../mpr/view.js').MprView} mpr
 * @param {string[]} names
 * @returns {Promise<Array<{png: string, caption: string}>>}
 */
export async function mprFilmItems(mpr, names) {
  mpr.drawSharp();
  const items = [];
  for (const name of names) items.push(await filmItemOf(mpr, name));
  return items;
}

async function filmItemOf(mpr, name) {
  const pane = mpr.panes.get(name);
  const blob = await composePane(mpr, name, FILM_PANE_OVERLAYS, MAX_FILM_PNG_SIDE);
  const text = (key) => pane.querySelector(`[data-o="${key}"]`)?.textContent || '';
  // Which series it was reformatted from, as stored tiles say "Se 2".
  const { number } = mpr.options.series;
  const series = `Se ${number ?? '-'}`;
  return { png: await base64Of(blob), caption: mprFilmCaption([series, text('plane'), text('slab'), text('window')]) };
}

/**
 * Hand a file to the browser's downloads.
 * @param {Blob} blob
 * @param {string} fileName
 */
export function saveBlob(blob, fileName) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
