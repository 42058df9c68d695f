/**
 * Key images as the viewer knows them: the person's own marks, every KOS document's
 * images, and the "Key images" entry of the strip as a series made of references.
 * Plain data and rules, no DOM or I/O.
 * @module state/key-images
 */
import { sameImage } from '../tools/stack.js';

/** The strip entry's series UID: not a DICOM UID, so it never names a real series. */
export const KEY_SERIES_UID = 'key-images';

/**
 * @typedef {{series_uid: string, sop_instance_uid: string, frame: number}} KeyImage
 */

export class KeyImages {
  constructor() {
    /** @type {KeyImage[]} the person's own marks, in their document's order */
    this.mine = [];
    /** @type {KeyImage[]} every document's images here, the person's own first */
    this.images = [];
    /** @type {number} references of the documents to images not in the archive */
    this.missing = 0;
    /** @type {object[]} the documents (author, mine, images, missing) */
    this.documents = [];
  }

  /** Take the server's answer (GET or POST /api/studies/<uid>/key-images/). */
  receive(answer) {
    this.mine = answer.mine || [];
    this.images = answer.images || [];
    this.missing = answer.missing || 0;
    this.documents = answer.documents || [];
  }

  /** Whether the person has marked this stack entry (``sop_instance_uid`` and ``frame``). */
  isMine(entry) {
    return this.mine.some((image) => sameImage(image, entry));
  }

  /** Whether any document names this stack entry as a key image. */
  isKey(entry) {
    return this.images.some((image) => sameImage(image, entry));
  }

  /** Whether the strip shows the entry: some image is key, or some is not here. */
  get shown() {
    return this.images.length > 0 || this.missing > 0;
  }

  /** The real series of each instance of the key series, grouped: {seriesUid: [sopUid]}. */
  bySeries(sopUids) {
    const groups = new Map();
    for (const sopUid of sopUids) {
      const image = this.images.find((i) => i.sop_instance_uid === sopUid);
      if (!image) continue;
      if (!groups.has(image.series_uid)) groups.set(image.series_uid, []);
      groups.get(image.series_uid).push(sopUid);
    }
    return groups;
  }
}

/**
 * The "Key images" series: each key image's entry from its own series' listing, in the
 * documents' order, one stack entry per key frame. An image whose series is not listed
 * (or no longer lists it) is left out of the stack.
 * @param {KeyImage[]} images
 * @param {Map<string, object>} listings series UID → series metadata (io/api)
 * @param {string} description the entry's name for people
 * @returns {object} series metadata the viewport and the loader take as any other
 */
export function keySeries(images, listings, description) {
  const instances = [];
  for (const image of images) {
    const found = listings.get(image.series_uid)?.instances
      .find((i) => i.sop_instance_uid === image.sop_instance_uid);
    if (!found) continue;
    const multiFrame = (found.frames || 1) > 1;
    instances.push({
      ...found,
      series_uid: image.series_uid,
      frame: image.frame,
      // A frame of a multi-frame image has no position of its own in the listing.
      position: multiFrame ? null : found.position,
    });
  }
  return {
    series_uid: KEY_SERIES_UID, number: null, modality: '', description, complete: true, instances,
  };
}
