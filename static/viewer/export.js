/**
 * A viewport as a PNG: the rendered canvas, its annotation layer and chosen overlay
 * texts, composed on a canvas of the same size. Which texts is decided in tools/export.js.
 * @module export
 */
import { exportedOverlays } from './tools/export.js';

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

/** Overlay elements of a viewport by their name (data-o attribute or class). */
function overlayElement(viewport, name) {
  return viewport.element.querySelector(`[data-o="${name}"]`) || viewport.element.querySelector(`.overlay .${name}`);
}

/**
 * Draw each chosen overlay text where it stands on screen, in its own font and colour.
 * @param {CanvasRenderingContext2D} context
 * @param {import('./viewport.js').Viewport} viewport
 * @param {string[]} names
 */
function drawOverlays(context, viewport, names) {
  const canvasBox = viewport.canvas.getBoundingClientRect();
  const ratio = viewport.canvas.width / canvasBox.width;
  for (const name of names) {
    const element = overlayElement(viewport, name);
    const text = element?.textContent.trim();
    const box = element?.getBoundingClientRect();
    if (!text || !box.width) continue;
    const style = getComputedStyle(element);
    context.font = `${style.fontWeight} ${parseFloat(style.fontSize) * ratio}px ${style.fontFamily}`;
    context.fillStyle = style.color;
    context.textBaseline = 'middle';
    context.shadowColor = '#000';
    context.shadowBlur = 3 * ratio;
    context.fillText(text, (box.left - canvasBox.left) * ratio, (box.top + box.height / 2 - canvasBox.top) * ratio);
  }
}

/**
 * The viewport as shown, as a PNG the size of its canvas.
 * @param {import('./viewport.js').Viewport} viewport
 * @param {{burnIn: boolean}} options patient data only when ``burnIn``
 * @returns {Promise<Blob>}
 */
export async function viewportPng(viewport, { burnIn }) {
  // Draw now, so the canvas holds exactly the current state (WebGL keeps its buffer).
  viewport.draw();
  const out = document.createElement('canvas');
  out.width = viewport.canvas.width;
  out.height = viewport.canvas.height;
  const context = out.getContext('2d');
  context.fillStyle = '#000';
  context.fillRect(0, 0, out.width, out.height);
  context.drawImage(viewport.canvas, 0, 0);
  const annotations = await annotationImage(viewport.svg, out.width, out.height);
  if (annotations) context.drawImage(annotations, 0, 0, out.width, out.height);
  drawOverlays(context, viewport, exportedOverlays(burnIn));
  return new Promise((resolve, reject) => {
    out.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
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
