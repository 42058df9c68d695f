/**
 * The first image's requests, sent while the rest of the viewer's modules still load:
 * the listing of the series the page opens first (the one the address names, else the
 * hanging protocol's first viewport's) and its opening frame, taken by main.js.
 * @module io/early
 */
import { frameUrl, seriesMetadataUrl } from './api.js';
import { FrameDecoder } from './decoder.js';
import { openingIndex, wantsPreview } from '../state/load-plan.js';
import { expandFrames } from '../tools/stack.js';
import { NARROW_QUERY } from '../shell/toolbar.js';

const asked = { listing: null, frame: null };

/** The request key of one frame, as the loader would ask for it. */
export function frameKey(sopUid, frame, { jls = false, reduce = false } = {}) {
  return `${sopUid}/${frame}/${jls ? 'jls' : 'raw'}/${reduce ? 'reduced' : 'full'}`;
}

/**
 * Ask for the listing and the opening frame of the series ``start`` names
 * (``{studyUid, seriesUid, sopUid}``, from the page), as the viewport and loader will want
 * them: the image the hanging names (``sopUid``) else the middle one, JPEG-LS unless
 * ``?frames=raw``, a large image's reduced rendition first.
 * @param {{studyUid?: string, seriesUid?: string, sopUid?: string}} start
 * @param {string} search the address' query
 */
export function startFirstImage({ studyUid, seriesUid, sopUid = '' } = {}, search = '', fetcher = globalThis.fetch) {
  const query = new URLSearchParams(search);
  // A window opened by another (?window=N) shows its opener's frames: asking here would
  // fetch one for nothing.
  if (!studyUid || !seriesUid || asked.listing || query.has('window')) return;
  const jls = query.get('frames') !== 'raw' && FrameDecoder.supported();
  const url = seriesMetadataUrl(studyUid, seriesUid);
  // The page preloaded this listing: this takes that answer.
  const listing = fetcher(url, { credentials: 'same-origin', cache: 'force-cache', priority: 'high' }).then((response) => {
    if (!response.ok) throw new Error(`series metadata: HTTP ${response.status}`);
    return response.json();
  });
  asked.listing = { url, listing };
  // Chained first, so the frame is asked for before anyone else hears of the listing.
  listing.then((found) => {
    const stack = expandFrames(found.instances || []);
    // As the viewport opens a series (viewport.js openSeries).
    const named = sopUid ? stack.findIndex((e) => e.sop_instance_uid === sopUid) : -1;
    const entry = stack[named >= 0 ? named : openingIndex(stack.length)];
    // Not here yet (a study being retrieved): its request would only get a 404, and the
    // loader, taking that answer, would show the image as failed instead of waiting.
    if (!entry || entry.missing) return;
    const options = { jls, reduce: query.get('preview') !== 'off' && wantsPreview(entry) };
    asked.frame = {
      key: frameKey(entry.sop_instance_uid, entry.frame, options),
      // Ahead of the modules still loading (preloaded at low priority).
      response: fetcher(frameUrl(studyUid, entry.sop_instance_uid, entry.frame, options), { credentials: 'same-origin', priority: 'high' }),
    };
  }, () => {});
}

/** The listing asked for early at ``url`` (a promise of its JSON), once; else null. */
export function takeListing(url) {
  if (asked.listing?.url !== url) return null;
  const { listing } = asked.listing;
  asked.listing = { url: null, listing: null };
  return listing;
}

/** The answer to this frame's request if it was asked for early (once); else null. */
export function takeFrame(sopUid, frame, options) {
  if (!asked.frame || asked.frame.key !== frameKey(sopUid, frame, options)) return null;
  const { response } = asked.frame;
  asked.frame = null;
  return response;
}

/**
 * The first viewport as the page will hang it, from the early script's data: a phone
 * (shell/toolbar.js NARROW_QUERY) shows the protocol's narrow form.
 * @returns {{studyUid: string, seriesUid: string, sopUid: string}}
 */
export function firstView(data, narrow) {
  const form = narrow ? { seriesUid: data.narrowSeries, sopUid: data.narrowImage } : { seriesUid: data.firstSeries, sopUid: data.firstImage };
  return { studyUid: data.studyUid, seriesUid: form.seriesUid || '', sopUid: form.sopUid || '' };
}

if (typeof document === 'object') {
  const script = document.querySelector('script[data-first-series]');
  if (script) startFirstImage(firstView(script.dataset, window.matchMedia(NARROW_QUERY).matches), location.search);
}
