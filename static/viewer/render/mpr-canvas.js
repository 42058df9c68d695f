/**
 * Canvas 2D reformatting for browsers without WebGL2: the reference resampler of
 * math/mpr.js, windowed in JavaScript. Slower, same picture.
 * @module render/mpr-canvas
 */
import { colormapTable } from '../math/colormaps.js';
import { reslice, slabSampleCount } from '../math/mpr.js';
import { greyLevel } from '../math/voi.js';
import { readCanvasGrey } from './canvas2d.js';

export class MprCanvasRenderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.kind = 'canvas2d';
  }

  setVolume(volume, geometry) {
    this.volume = volume;
    this.geometry = geometry;
  }

  /** Draw every pane (same arguments as MprWebGLRenderer.drawPanes). */
  drawPanes(panes, slab, view, linear = true) {
    this.context.fillStyle = '#000';
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const samples = slabSampleCount(this.geometry, panes.map((p) => p.mapping.normal), slab);
    const table = colormapTable(view.colormap || 'grey');
    const p = { ...view, slope: 1, intercept: 0 };
    for (const { rect, mapping } of panes) {
      const values = reslice(this.volume, this.geometry, mapping, { ...slab, samples, linear });
      const image = new ImageData(rect.width, rect.height);
      for (let n = 0; n < values.length; n += 1) {
        const out = n * 4;
        image.data[out + 3] = 255;
        if (Number.isNaN(values[n])) continue;
        const g = greyLevel(values[n], p) * 4;
        image.data[out] = table[g];
        image.data[out + 1] = table[g + 1];
        image.data[out + 2] = table[g + 2];
      }
      this.context.putImageData(image, rect.x, rect.y);
    }
  }

  finish() {}

  readRegion(x, y, width, height) {
    return readCanvasGrey(this.context, x, y, width, height);
  }

  destroy() {}
}
