/**
 * WebGL2 rendering of one frame: integer textures of the stored values and a shader
 * that applies rescale, the VOI function and polarity on the GPU.
 * @module render/webgl
 */

import { colormapTable } from '../math/colormaps.js';

const VERTEX = `#version 300 es
in vec2 a_position;          // unit square, (0, 0) at the image's top-left
uniform vec2 u_size;         // columns, rows
uniform vec2 u_canvas;       // canvas width, height in pixels
uniform mat3 u_matrix;       // image pixels to canvas pixels
out vec2 v_uv;
void main() {
  v_uv = a_position;         // texture row 0 is the image's first row
  vec2 canvas = (u_matrix * vec3(a_position * u_size, 1.0)).xy;
  gl_Position = vec4(canvas.x / u_canvas.x * 2.0 - 1.0, 1.0 - canvas.y / u_canvas.y * 2.0, 0.0, 1.0);
}`;

/**
 * GLSL for the grey pipeline after rescale: the VOI function, polarity and colour map,
 * shared by the slice and the reformat shaders.
 */
export const VOI_GLSL = `
uniform sampler2D u_lut;
uniform float u_center, u_width;
uniform int u_function;
uniform bool u_invert;
vec4 voiColor(float x) {
  float y;
  if (u_function == 2) {
    y = 1.0 / (1.0 + exp(-4.0 * (x - u_center) / u_width));
  } else if (u_function == 1) {
    y = x <= u_center - u_width / 2.0 ? 0.0
      : (x > u_center + u_width / 2.0 ? 1.0 : (x - u_center) / u_width + 0.5);
  } else if (u_width <= 1.0) {
    y = x > u_center - 0.5 ? 1.0 : 0.0;
  } else {
    float lo = u_center - 0.5 - (u_width - 1.0) / 2.0;
    float hi = u_center - 0.5 + (u_width - 1.0) / 2.0;
    y = x <= lo ? 0.0 : (x > hi ? 1.0 : (x - (u_center - 0.5)) / (u_width - 1.0) + 0.5);
  }
  if (u_invert) y = 1.0 - y;
  // The colour map is a 256-texel table; grey is the identity.
  return texture(u_lut, vec2((floor(y * 255.0 + 0.5) + 0.5) / 256.0, 0.5));
}`;

function fragment(sampler, isColour) {
  const body = isColour
    ? 'vec3 rgb = texture(u_image, v_uv).rgb; if (u_invert) rgb = 1.0 - rgb; color = vec4(rgb, 1.0);'
    : 'color = voiColor(float(texture(u_image, v_uv).r) * u_slope + u_intercept);';
  return `#version 300 es
precision highp float;
precision highp int;
uniform highp ${sampler} u_image;
uniform float u_slope, u_intercept;
${VOI_GLSL}
in vec2 v_uv;
out vec4 color;
void main() { ${body} }`;
}

/** Compile and link a program, or throw with the driver's log. */
export function linkProgram(gl, vertexSource, fragmentSource) {
  const compile = (type, source) => {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
    return shader;
  };
  const program = gl.createProgram();
  gl.attachShader(program, compile(gl.VERTEX_SHADER, vertexSource));
  gl.attachShader(program, compile(gl.FRAGMENT_SHADER, fragmentSource));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  return program;
}

/** Bind the colour-map table to texture unit 1, uploading it when the map changed. */
export function bindColormap(gl, texture, name, current) {
  gl.activeTexture(gl.TEXTURE1);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  if (name === current) return name;
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, colormapTable(name));
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return name;
}

/** Read back a canvas region's grey levels (red channel), top row first. */
export function readGrey(gl, canvasHeight, x, y, width, height) {
  const rgba = new Uint8Array(width * height * 4);
  gl.readPixels(x, canvasHeight - y - height, width, height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  const grey = new Uint8Array(width * height);
  for (let row = 0; row < height; row += 1) {
    for (let col = 0; col < width; col += 1) grey[row * width + col] = rgba[((height - 1 - row) * width + col) * 4];
  }
  return grey;
}

// Texture format per wire type: exact integers where WebGL2 has them, else float.
const FORMATS = {
  uint8: ['usampler2D', 'R8UI', 'RED_INTEGER', 'UNSIGNED_BYTE', Uint8Array],
  int8: ['isampler2D', 'R8I', 'RED_INTEGER', 'BYTE', Int8Array],
  uint16: ['usampler2D', 'R16UI', 'RED_INTEGER', 'UNSIGNED_SHORT', Uint16Array],
  int16: ['isampler2D', 'R16I', 'RED_INTEGER', 'SHORT', Int16Array],
  uint32: ['usampler2D', 'R32UI', 'RED_INTEGER', 'UNSIGNED_INT', Uint32Array],
  int32: ['isampler2D', 'R32I', 'RED_INTEGER', 'INT', Int32Array],
  float32: ['sampler2D', 'R32F', 'RED', 'FLOAT', Float32Array],
};

/**
 * Whether ``values`` is a ``Typed`` array, from this window's realm or another's: a
 * frame held by the opener's loader (io/windows.js) fails ``instanceof`` here, and
 * ``Typed.from`` would copy every upload of it.
 */
export function sameType(values, Typed) {
  return values instanceof Typed || Object.prototype.toString.call(values) === `[object ${Typed.name}]`;
}

/**
 * What both WebGL2 renderers start from: the context (its buffer kept, for read-back
 * and export), programs made on demand, an image and a colour-map texture, a buffer.
 * @param {object} renderer gets gl, canvas, programs, texture, lut, colormap, buffer
 * @param {HTMLCanvasElement} canvas
 */
export function openWebGL(renderer, canvas) {
  const gl = canvas.getContext('webgl2', { preserveDrawingBuffer: true, antialias: false });
  if (!gl) throw new Error('WebGL2 is not available');
  Object.assign(renderer, {
    gl, canvas, programs: new Map(), texture: gl.createTexture(), lut: gl.createTexture(),
    colormap: null, buffer: gl.createBuffer(), kind: 'webgl2',
  });
  return gl;
}

export class WebGLRenderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    const gl = openWebGL(this, canvas);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1]),
      gl.STATIC_DRAW);
    this.frame = null;
  }

  program(sampler, isColour) {
    const key = `${sampler}:${isColour}`;
    if (!this.programs.has(key)) this.programs.set(key, linkProgram(this.gl, VERTEX, fragment(sampler, isColour)));
    return this.programs.get(key);
  }

  /** @param {import('../io/api.js').Frame} frame */
  setFrame(frame) {
    const { gl } = this;
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (frame.samples === 3) {
      // RGB 8-bit; 16-bit colour is scaled down to the 8 bits a channel can show.
      const rgb = frame.dataType === 'uint8' ? frame.values
        : Uint8Array.from(frame.values, (v) => v >> 8);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB8, frame.columns, frame.rows, 0, gl.RGB,
        gl.UNSIGNED_BYTE, rgb);
      this.sampler = 'sampler2D';
    } else {
      const [sampler, internal, format, type, Typed] = FORMATS[frame.dataType];
      const values = sameType(frame.values, Typed) ? frame.values : Typed.from(frame.values);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl[internal], frame.columns, frame.rows, 0, gl[format],
        gl[type], values);
      this.sampler = sampler;
    }
    // Integer textures cannot be filtered; nearest also keeps pixel values true.
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.frame = frame;
  }

  /**
   * @param {{center: number, width: number, fn: number, invert: boolean}} view
   * @param {number[]} m image-to-canvas matrix [a, b, c, d, e, f] (math/transform.js)
   */
  draw(view, m) {
    const { gl, canvas, frame } = this;
    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!frame) return;
    const program = this.program(this.sampler, frame.samples === 3);
    gl.useProgram(program);
    const at = (name) => gl.getUniformLocation(program, name);
    gl.uniform2f(at('u_size'), frame.columns, frame.rows);
    gl.uniform2f(at('u_canvas'), canvas.width, canvas.height);
    // Column-major mat3 of the affine map.
    gl.uniformMatrix3fv(at('u_matrix'), false, [m[0], m[1], 0, m[2], m[3], 0, m[4], m[5], 1]);
    gl.uniform1f(at('u_slope'), frame.slope);
    gl.uniform1f(at('u_intercept'), frame.intercept);
    gl.uniform1f(at('u_center'), view.center);
    gl.uniform1f(at('u_width'), view.width);
    gl.uniform1i(at('u_function'), view.fn);
    gl.uniform1i(at('u_invert'), view.invert ? 1 : 0);
    gl.uniform1i(at('u_image'), 0);
    gl.uniform1i(at('u_lut'), 1);
    this.useColormap(view.colormap || 'grey');
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    const location = gl.getAttribLocation(program, 'a_position');
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
    gl.enableVertexAttribArray(location);
    gl.vertexAttribPointer(location, 2, gl.FLOAT, false, 0, 0);
    gl.drawArrays(gl.TRIANGLES, 0, 6);
  }

  useColormap(name) {
    this.colormap = bindColormap(this.gl, this.lut, name, this.colormap);
  }

  /**
   * Grey levels of a canvas region, top row first (for checks against a reference).
   * @returns {Uint8Array}
   */
  readRegion(x, y, width, height) {
    return readGrey(this.gl, this.canvas.height, x, y, width, height);
  }
}
