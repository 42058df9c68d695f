/**
 * Fetching series metadata and raw frames from our server.
 * @module io/api
 */

import { MultipartReader } from './multipart.js';

const TYPED = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array,
};

/**
 * @param {string} studyUid
 * @param {string} seriesUid
 * @returns {Promise<object>} the series with its instances in slice order
 */
export async function fetchSeriesMetadata(studyUid, seriesUid) {
  const response = await fetch(`/api/studies/${studyUid}/series/${seriesUid}/metadata/`, {
    credentials: 'same-origin',
  });
  if (!response.ok) throw new Error(`series metadata: HTTP ${response.status}`);
  return response.json();
}

/**
 * A decoded frame: stored values and the facts to display them.
 * @typedef {{values: ArrayLike<number>, rows: number, columns: number, samples: number,
 *   dataType: string, photometric: string, slope: number, intercept: number,
 *   windows: Array<{center: number, width: number}>, voiFunction: string,
 *   min: number, max: number}} Frame
 */

/**
 * @param {string} studyUid
 * @param {string} sopUid
 * @param {number} frameNumber 1-based
 * @returns {Promise<Frame>}
 */
export async function fetchFrame(studyUid, sopUid, frameNumber = 1) {
  const url = `/api/studies/${studyUid}/instances/${sopUid}/frames/${frameNumber}/raw`;
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(await failure(response));
  return decodeFrame((name) => response.headers.get(name) || '', await response.arrayBuffer());
}

async function failure(response) {
  try { return (await response.json()).detail || `HTTP ${response.status}`; } catch { return `HTTP ${response.status}`; }
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
  return {
    values,
    rows: Number(header('X-Rows')),
    columns: Number(header('X-Columns')),
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
 * Every stored frame of a series in one request (for a volume), handed over as each
 * arrives; rejects naming the first image the server could not decode.
 * @param {string} studyUid
 * @param {string} seriesUid
 * @param {(sopUid: string, frameNumber: number, frame: Frame) => void} onFrame
 * @param {AbortSignal} [signal]
 * @param {number} [requests] requests side by side, each for every n-th image: the
 *   server compresses each on its own core
 */
export async function fetchSeriesFrames(studyUid, seriesUid, onFrame, signal, requests = 2) {
  // One failure stops the other requests too.
  const stop = new AbortController();
  signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const parts = Array.from({ length: requests }, (_, part) => fetchFramesPart(
    `/api/studies/${studyUid}/series/${seriesUid}/frames/raw?part=${part}&parts=${requests}`, onFrame, stop.signal,
  ));
  try {
    await Promise.all(parts);
  } catch (error) {
    stop.abort();
    throw error;
  }
}

async function fetchFramesPart(url, onFrame, signal) {
  const response = await fetch(url, { credentials: 'same-origin', signal });
  if (!response.ok) throw new Error(await failure(response));
  const boundary = /boundary="?([^";]+)"?/.exec(response.headers.get('Content-Type') || '')?.[1];
  if (!boundary) throw new Error('the server did not answer with a multipart body');
  const reader = new MultipartReader(boundary, ({ headers, body }) => {
    const location = /\/instances\/([^/]+)\/frames\/(\d+)\/raw$/.exec(headers.get('content-location') || '');
    if (!location) throw new Error('a part of the answer names no frame');
    const [, sopUid, frameNumber] = location;
    if ((headers.get('content-type') || '').startsWith('application/json')) {
      const { detail } = JSON.parse(new TextDecoder().decode(body));
      throw new Error(`image ${sopUid}, frame ${frameNumber}: ${detail}`);
    }
    onFrame(sopUid, Number(frameNumber), decodeFrame((name) => headers.get(name.toLowerCase()) || '', body.buffer));
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
  }
}

function csrfToken() {
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
