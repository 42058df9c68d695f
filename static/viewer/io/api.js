/**
 * Fetching series metadata and raw frames from our server.
 * @module io/api
 */

import { ownBuffer } from './decoder.js';
import { MultipartReader } from './multipart.js';

const TYPED = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array,
};

/**
 * @param {string} studyUid
 * @param {string} seriesUid
 * @param {RequestCache} [cache] 'force-cache' takes what the page preloaded
 * @returns {Promise<object>} the series with its instances in slice order
 */
export async function fetchSeriesMetadata(studyUid, seriesUid, cache = 'default') {
  const response = await fetch(seriesMetadataUrl(studyUid, seriesUid), { credentials: 'same-origin', cache });
  if (!response.ok) throw new Error(`series metadata: HTTP ${response.status}`);
  return response.json();
}

/** Where a series' listing is (the page may have preloaded it). */
export function seriesMetadataUrl(studyUid, seriesUid) {
  return `/api/studies/${studyUid}/series/${seriesUid}/metadata/`;
}

/**
 * The strip's series (number, modality, description) and the hanging protocols that
 * fit the study as it is now, best first; they change while the study arrives.
 * @param {string} studyUid
 * @returns {Promise<{series: Array<{series_uid: string, number: number|null,
 *   modality: string, description: string}>, hangings: object[]}>}
 */
export async function fetchStudyHangings(studyUid) {
  const response = await fetch(`/api/studies/${studyUid}/hangings/`, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new Error(`hangings: HTTP ${response.status}`);
  return response.json();
}

/** Where one frame is: as JPEG-LS (``jls``), and reduced (``reduce``) for a large image. */
export function frameUrl(studyUid, sopUid, frameNumber = 1, { jls = false, reduce = false } = {}) {
  const query = new URLSearchParams();
  if (jls) query.set('encoding', 'jls');
  if (reduce) query.set('reduce', '1');
  const search = query.toString();
  return `/api/studies/${studyUid}/instances/${sopUid}/frames/${frameNumber}/raw${search ? `?${search}` : ''}`;
}

/**
 * A decoded frame: stored values and the facts to display them.
 * @typedef {{values: ArrayLike<number>, rows: number, columns: number, samples: number,
 *   dataType: string, photometric: string, slope: number, intercept: number,
 *   windows: Array<{center: number, width: number}>, voiFunction: string,
 *   min: number, max: number, reducedBy: number, fullRows: number,
 *   fullColumns: number}} Frame
 * ``reducedBy`` > 1: a reduced rendition (``rows`` x ``columns``) of a frame of
 * ``fullRows`` x ``fullColumns``, each of its pixels the mean of a ``reducedBy``-square
 * block; its values are never to be read out as the image's.
 */

/**
 * @param {string} studyUid
 * @param {string} sopUid
 * @param {number} frameNumber 1-based
 * @param {AbortSignal} [signal]
 * @param {import('./decoder.js').FrameDecoder} [decoder] given, the frame comes as
 *   JPEG-LS lossless where the server can encode it, and is decoded in a worker
 * @param {{reduce?: boolean, onArrived?: () => void, response?: Promise<Response>}} [options]
 *   ``reduce``: a large image's reduced rendition; ``onArrived`` is called once the body
 *   is in, before it is decoded (the link is free for the next request); ``response``:
 *   the answer to the same request, already asked for (io/early.js)
 * @returns {Promise<Frame>}
 */
export async function fetchFrame(studyUid, sopUid, frameNumber = 1, signal = undefined, decoder = null, { reduce = false, onArrived = null, response: asked = null } = {}) {
  const url = frameUrl(studyUid, sopUid, frameNumber, { jls: Boolean(decoder), reduce });
  const response = await (asked || fetch(url, { credentials: 'same-origin', signal }));
  signal?.throwIfAborted();
  if (!response.ok) throw await refusal(response);
  // The browser has already undone the answer's own Content-Encoding.
  const header = (name) => (name === 'Content-Encoding' ? '' : response.headers.get(name) || '');
  const body = new Uint8Array(await response.arrayBuffer());
  onArrived?.();
  return framePart(header, body, decoder);
}

/**
 * A frame from one answer or part: JPEG-LS decoded in a worker, a part gzipped on its
 * own inflated, raw values as they are.
 * @param {(name: string) => string} header
 * @param {Uint8Array} body
 * @param {import('./decoder.js').FrameDecoder} [decoder]
 * @returns {Promise<Frame>}
 */
export async function framePart(header, body, decoder = null) {
  const type = header('Content-Type').split(';')[0].trim();
  if (type === 'image/jls') {
    if (!decoder) throw new Error('a JPEG-LS frame came, but no decoder was asked for');
    return decodeFrame(header, await decoder.decode(body));
  }
  let bytes = body;
  if (header('Content-Encoding') === 'gzip') {
    const inflated = new Blob([body]).stream().pipeThrough(new DecompressionStream('gzip'));
    bytes = new Uint8Array(await new Response(inflated).arrayBuffer());
  }
  return decodeFrame(header, ownBuffer(bytes));
}

async function failure(response) {
  try { return (await response.json()).detail || `HTTP ${response.status}`; } catch { return `HTTP ${response.status}`; }
}

/** The server's answer as an Error; ``permanent`` when asking again cannot help (4xx). */
async function refusal(response) {
  const error = new Error(await failure(response));
  error.permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
  return error;
}

/**
 * A frame from its stored values and the X- headers that describe them.
 * @param {(name: string) => string} header
 * @param {ArrayBuffer} buffer
 * @returns {Frame}
 */
export function decodeFrame(header, buffer) {
  const dataType = header('X-Data-Type');
  if (!(dataType in TYPED)) throw new Error(`unknown pixel data type "${dataType}"`);
  const values = new TYPED[dataType](buffer);
  const centers = header('X-Window-Center').split('\\').filter(Boolean).map(Number);
  const widths = header('X-Window-Width').split('\\').filter(Boolean).map(Number);
  const slope = Number(header('X-Rescale-Slope') || 1);
  const intercept = Number(header('X-Rescale-Intercept') || 0);
  let min = Infinity; let max = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const [lo, hi] = [min * slope + intercept, max * slope + intercept].sort((a, b) => a - b);
  const rows = Number(header('X-Rows'));
  const columns = Number(header('X-Columns'));
  return {
    values,
    rows,
    columns,
    reducedBy: Number(header('X-Reduced-By')) || 1,
    fullRows: Number(header('X-Full-Rows')) || rows,
    fullColumns: Number(header('X-Full-Columns')) || columns,
    samples: Number(header('X-Samples-Per-Pixel') || 1),
    dataType,
    photometric: header('X-Photometric-Interpretation'),
    slope,
    intercept,
    windows: centers.map((center, i) => ({ center, width: widths[i] })).filter((w) => w.width > 0),
    voiFunction: header('X-VOI-LUT-Function') || 'LINEAR',
    min: lo,
    max: hi,
  };
}

/**
 * Every frame of the named instances of one series, in that order, handed over as each
 * arrives (one request; the answer is cached by the browser: instances never change).
 * @param {string} studyUid
 * @param {string} seriesUid
 * @param {string[]} sopUids at most 64
 * @param {(sopUid: string, frameNumber: number, frame: Frame) => void} onFrame
 * @param {AbortSignal} [signal]
 * @param {(sopUid: string, frameNumber: number, why: string) => void} [onFailure] an image
 *   the server could not decode; the others still come
 */
export function fetchInstanceFrames(studyUid, seriesUid, sopUids, onFrame, signal, onFailure, decoder = null) {
  const query = new URLSearchParams(sopUids.map((uid) => ['instance', uid]));
  if (decoder) query.append('encoding', 'jls');
  const url = `/api/studies/${studyUid}/series/${seriesUid}/frames/raw?${query}`;
  return fetchFramesPart(url, onFrame, signal, onFailure, decoder);
}

async function fetchFramesPart(url, onFrame, signal, onFailure = null, decoder = null) {
  const response = await fetch(url, { credentials: 'same-origin', signal });
  if (!response.ok) throw await refusal(response);
  const boundary = /boundary="?([^";]+)"?/.exec(response.headers.get('Content-Type') || '')?.[1];
  if (!boundary) throw new Error('the server did not answer with a multipart body');
  // Parts decode in workers meanwhile; the request ends when the last one has.
  const decoding = [];
  const reader = new MultipartReader(boundary, ({ headers, body }) => {
    const location = /\/instances\/([^/]+)\/frames\/(\d+)\/raw$/.exec(headers.get('content-location') || '');
    if (!location) throw new Error('a part of the answer names no frame');
    const [, sopUid, frameNumber] = location;
    const number = Number(frameNumber);
    if ((headers.get('content-type') || '').startsWith('application/json')) {
      const { detail } = JSON.parse(new TextDecoder().decode(body));
      if (onFailure) {
        onFailure(sopUid, number, detail);
        return;
      }
      throw new Error(`image ${sopUid}, frame ${frameNumber}: ${detail}`);
    }
    const header = (name) => headers.get(name.toLowerCase()) || '';
    decoding.push(framePart(header, body, decoder).then(
      (frame) => onFrame(sopUid, number, frame),
      (error) => {
        // A decoder that did not start fails the request, which is asked again raw.
        if (!onFailure || decoder?.broken) throw new Error(`image ${sopUid}, frame ${frameNumber}: ${error.message}`);
        onFailure(sopUid, number, error.message);
      },
    ));
  });
  const stream = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      reader.push(value);
    }
    reader.end();
  } catch (error) {
    stream.cancel().catch(() => {}); // the rest of the body is of no use now
    throw error;
  } finally {
    await Promise.allSettled(decoding);
  }
  await Promise.all(decoding);
}

/** Django's CSRF token from its cookie, for the requests that change something. */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/**
 * Send ``body`` as JSON with the CSRF token; the response, or an Error with the
 * server's ``detail``.
 * @returns {Promise<Response>}
 */
export async function sendJsonRequest(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await failure(response));
  return response;
}

async function sendJson(url, method, body) {
  const response = await sendJsonRequest(url, method, body);
  return response.status === 204 ? null : response.json();
}

/** The study's measurements this person may see (their own and shared ones). */
export async function fetchMeasurements(studyUid) {
  return (await sendJson(`/api/studies/${studyUid}/measurements/`, 'GET')).measurements;
}

/** Save a new measurement; returns it with its id. */
export function saveMeasurement(studyUid, measurement) {
  return sendJson(`/api/studies/${studyUid}/measurements/`, 'POST', measurement);
}

/** Delete one of one's own measurements. */
export function deleteMeasurement(id) {
  return sendJson(`/api/measurements/${id}/`, 'DELETE');
}

/** Change one of one's own measurements (``points``, ``label`` or ``shared``); returns it. */
export function updateMeasurement(id, change) {
  return sendJson(`/api/measurements/${id}/`, 'PATCH', change);
}

/** This person's key images and every KOS document's, of the study. */
export function fetchKeyImages(studyUid) {
  return sendJson(`/api/studies/${studyUid}/key-images/`, 'GET');
}

/** Mark (``key`` true) or unmark one frame of an image as key; the study's key images after. */
export function saveKeyImage(studyUid, sopInstanceUid, frame, key) {
  return sendJson(`/api/studies/${studyUid}/key-images/`, 'POST', {
    sop_instance_uid: sopInstanceUid, frame, key,
  });
}

/** The configured nodes the person may send to: [{id, name, address}]. */
export async function fetchReceivingNodes() {
  return (await sendJson('/api/nodes/receiving/', 'GET')).nodes;
}

/** Send this person's key images (their KOS) to a node; rejects with the server's reason. */
export function sendKeyImages(studyUid, nodeId) {
  return sendJson(`/api/studies/${studyUid}/key-images/send/`, 'POST', { node_id: nodeId });
}
