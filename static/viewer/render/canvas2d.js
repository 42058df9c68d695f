/**
 * Canvas 2D fallback: the same grayscale pipeline in JavaScript, for browsers without
 * WebGL2.
 * @module render/canvas2d
 */
import { colormapTable } from '../math/colormaps.js';
import { greyLevel } from '../math/voi.js';

export class Canvas2DRenderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.scratch = document.createElement('canvas');
    this.frame = null;
    this.kind = 'canvas2d';
  }

  setFrame(frame) {
    this.frame = frame;
    this.scratch.width = frame.columns;
    this.scratch.height = frame.rows;
  }

  draw(view, m) {
    const { context, canvas, frame } = this;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (!frame) return;
    const pixels = frame.rows * frame.columns;
    const image = new ImageData(frame.columns, frame.rows);
    const out = image.data;
    if (frame.samples === 3) {
      const shift = frame.dataType === 'uint8' ? 0 : 8;
      for (let i = 0; i < pixels; i += 1) {
        for (let c = 0; c < 3; c += 1) {
          const v = frame.values[i * 3 + c] >> shift;
          out[i * 4 + c] = view.invert ? 255 - v : v;
        }
        out[i * 4 + 3] = 255;
      }
    } else {
      const p = { slope: frame.slope, intercept: frame.intercept, ...view };
      const table = colormapTable(view.colormap || 'grey');
      for (let i = 0; i < pixels; i += 1) {
        const g = greyLevel(frame.values[i], p) * 4;
        out[i * 4] = table[g]; out[i * 4 + 1] = table[g + 1]; out[i * 4 + 2] = table[g + 2];
        out[i * 4 + 3] = 255;
      }
    }
    this.scratch.getContext('2d').putImageData(image, 0, 0);
    context.imageSmoothingEnabled = false;
    context.setTransform(m[0], m[1], m[2], m[3], m[4], m[5]);
    context.drawImage(this.scratch, 0, 0);
    context.setTransform(1, 0, 0, 1, 0, 0);
  }

  readRegion(x, y, width, height) {
    return readCanvasGrey(this.context, x, y, width, height);
  }
}

/** Grey levels (red channel) of a 2-D canvas region, top row first. */
export function readCanvasGrey(context, x, y, width, height) {
  const rgba = context.getImageData(x, y, width, height).data;
  const grey = new Uint8Array(width * height);
  for (let i = 0; i < grey.length; i += 1) grey[i] = rgba[i * 4];
  return grey;
}
