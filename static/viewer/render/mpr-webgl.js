/**
 * WebGL2 reformatting: the volume as one filtered 3-D texture of modality values, and
 * one shader pass that walks every pane's plane (and slab) through it.
 * @module render/mpr-webgl
 */
import { slabOffsets, slabSampleCount, SLAB_MODES, voxelMapping } from '../math/mpr.js';
import { halfFloatVolume } from '../math/volume.js';
import { bindColormap, linkProgram, openWebGL, readGrey, VOI_GLSL } from './webgl.js';

// Each pane is a quad whose corners carry their voxel coordinates: the plane is affine,
// so the interpolated varying is the exact voxel position of every pixel centre.
const VERTEX = `#version 300 es
in vec2 a_position;  // canvas device pixels from the top-left
in vec3 a_voxel;
in vec3 a_dw;
uniform vec2 u_canvas;
out vec3 v_voxel;
flat out vec3 v_dw;
void main() {
  v_voxel = a_voxel;
  v_dw = a_dw;
  gl_Position = vec4(a_position.x / u_canvas.x * 2.0 - 1.0, 1.0 - a_position.y / u_canvas.y * 2.0, 0.0, 1.0);
}`;

// Software renderers run loops with a uniform bound many times slower than a constant
// one, and pay for each draw call: so one draw for all panes, and a program for each
// slab sample count.
const fragment = (samples) => `#version 300 es
#define SAMPLES ${samples}
precision highp float;
precision highp int;
uniform highp sampler3D u_volume;  // modality values
uniform vec3 u_dims;
uniform int u_mode;
uniform float u_first, u_spacing;  // slab offsets in mm: first + s * spacing
in vec3 v_voxel;
flat in vec3 v_dw;                 // voxels per mm along the pane's normal
${VOI_GLSL}
out vec4 color;
// The texture unit filters: one fetch a sample (voxel centres at +0.5 texels).
float sampleAt(vec3 p) { return texture(u_volume, (p + 0.5) / u_dims).r; }
bool outside(vec3 p) { return any(lessThan(p, vec3(-0.5))) || any(greaterThan(p, u_dims - 0.5)); }
void main() {
  color = vec4(0.0, 0.0, 0.0, 1.0);
  if (SAMPLES == 1) {
    if (!outside(v_voxel)) color = voiColor(sampleAt(v_voxel));
    return;
  }
  float result = 0.0;
  float sum = 0.0;
  int count = 0;
  for (int s = 0; s < SAMPLES; s++) {
    vec3 p = v_voxel + (u_first + float(s) * u_spacing) * v_dw;
    if (outside(p)) continue;
    float v = sampleAt(p);
    count++;
    sum += v;
    if (u_mode == 1) result = count == 1 ? v : max(result, v);
    else if (u_mode == 2) result = count == 1 ? v : min(result, v);
    else result = v;
  }
  if (count == 0) return;
  if (u_mode == 3) result = sum / float(count);
  color = voiColor(result);
}`;

export class MprWebGLRenderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    openWebGL(this, canvas);
  }

  /**
   * Upload the volume as modality values; throws when it is larger than the GPU takes.
   * Half floats when they hold the values (exact integers to 2048, a step of 2 to 4096:
   * finer than any window shows), so the texture unit filters them; else 32-bit floats.
   */
  setVolume(volume, geometry) {
    const { gl } = this;
    const limit = gl.getParameter(gl.MAX_3D_TEXTURE_SIZE);
    if (Math.max(geometry.columns, geometry.rows, geometry.slices) > limit) {
      throw new Error(`the volume is larger than this GPU's ${limit} voxels a side`);
    }
    const half = halfFloatVolume(volume);
    const linear = half || gl.getExtension('OES_texture_float_linear');
    gl.bindTexture(gl.TEXTURE_3D, this.texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (half) {
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.R16F, geometry.columns, geometry.rows, geometry.slices,
        0, gl.RED, gl.HALF_FLOAT, half);
    } else {
      const floats = Float32Array.from(volume.values, (v) => v * volume.slope + volume.intercept);
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.R32F, geometry.columns, geometry.rows, geometry.slices,
        0, gl.RED, gl.FLOAT, floats);
    }
    this.filterable = Boolean(linear);
    this.filter = gl.NEAREST;
    for (const [name, value] of [['MIN_FILTER', 'NEAREST'], ['MAG_FILTER', 'NEAREST'],
      ['WRAP_S', 'CLAMP_TO_EDGE'], ['WRAP_T', 'CLAMP_TO_EDGE'], ['WRAP_R', 'CLAMP_TO_EDGE']]) {
      gl.texParameteri(gl.TEXTURE_3D, gl[`TEXTURE_${name}`], gl[value]);
    }
    this.volume = volume;
    this.geometry = geometry;
  }

  program(samples) {
    if (!this.programs.has(samples)) this.programs.set(samples, linkProgram(this.gl, VERTEX, fragment(samples)));
    return this.programs.get(samples);
  }

  /**
   * Draw every pane in one draw call; the canvas between panes is black.
   * @param {Array<{rect: {x: number, y: number, width: number, height: number},
   *   mapping: object}>} panes rect in device pixels from the canvas' top-left, and its
   *   math/mpr.paneMapping (made for the rect's size)
   * @param {{mode: string, thickness: number}} slab
   * @param {{center: number, width: number, fn: number, invert: boolean, colormap?: string}} view
   * @param {boolean} linear trilinear sampling; nearest (a fetch instead of eight) keeps
   *   a drag fluid on software renderers
   */
  drawPanes(panes, slab, view, linear = true) {
    const { gl, canvas, geometry } = this;
    const mode = SLAB_MODES[slab.mode] ?? 0;
    const samples = slabSampleCount(geometry, panes.map((p) => p.mapping.normal), slab);
    const offsets = slabOffsets(slab.thickness, 0, samples);
    const program = this.program(samples);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(program);
    const at = (name) => gl.getUniformLocation(program, name);
    // Two triangles a pane: position (2), voxel (3), voxel step per mm of slab (3).
    const vertices = new Float32Array(panes.length * 6 * 8);
    panes.forEach(({ rect, mapping }, n) => {
      const voxels = voxelMapping(geometry, mapping);
      [[0, 0], [1, 0], [0, 1], [0, 1], [1, 0], [1, 1]].forEach(([fx, fy], corner) => {
        const [x, y] = [fx * rect.width, fy * rect.height];
        const voxel = [0, 1, 2].map((k) => voxels.origin[k] + x * voxels.du[k] + y * voxels.dv[k]);
        vertices.set([rect.x + x, rect.y + y, ...voxel, ...voxels.dw], (n * 6 + corner) * 8);
      });
    });
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    gl.bufferData(gl.ARRAY_BUFFER, vertices, gl.STREAM_DRAW);
    for (const [name, size, offset] of [['a_position', 2, 0], ['a_voxel', 3, 2], ['a_dw', 3, 5]]) {
      const location = gl.getAttribLocation(program, name);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, size, gl.FLOAT, false, 32, offset * 4);
    }
    gl.uniform2f(at('u_canvas'), canvas.width, canvas.height);
    gl.uniform3f(at('u_dims'), geometry.columns, geometry.rows, geometry.slices);
    gl.uniform1i(at('u_mode'), mode);
    gl.uniform1f(at('u_first'), offsets[0]);
    gl.uniform1f(at('u_spacing'), offsets.length > 1 ? offsets[1] - offsets[0] : 0);
    gl.uniform1f(at('u_center'), view.center);
    gl.uniform1f(at('u_width'), view.width);
    gl.uniform1i(at('u_function'), view.fn);
    gl.uniform1i(at('u_invert'), view.invert ? 1 : 0);
    gl.uniform1i(at('u_volume'), 0);
    gl.uniform1i(at('u_lut'), 1);
    this.colormap = bindColormap(gl, this.lut, view.colormap || 'grey', this.colormap);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_3D, this.texture);
    const filter = linear && this.filterable ? gl.LINEAR : gl.NEAREST;
    if (filter !== this.filter) {
      gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MIN_FILTER, filter);
      gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MAG_FILTER, filter);
      this.filter = filter;
    }
    gl.drawArrays(gl.TRIANGLES, 0, panes.length * 6);
  }

  /** Wait until the GPU has drawn everything asked of it (for timing). */
  finish() {
    const pixel = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, pixel);
  }

  readRegion(x, y, width, height) {
    return readGrey(this.gl, this.canvas.height, x, y, width, height);
  }

  destroy() {
    this.gl.deleteTexture(this.texture);
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
