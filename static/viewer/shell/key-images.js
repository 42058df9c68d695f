/**
 * The key image toggle and the strip's "Key images" entry: the toolbar button says
 * whether the active image is one of the person's key images, the entry how many key
 * images the study has and how many its documents name that are not in the archive.
 * @module shell/key-images
 */
import { KEY_SERIES_UID } from '../state/key-images.js';
import { bindStripButton } from './series-drag.js';

export class KeyImagesStrip {
  /**
   * @param {HTMLElement} root the viewer
   * @param {{text: object, open: (seriesUid: string) => void,
   *   dropOn: (element: HTMLElement, seriesUid: string) => void}} options
   *   ``text``: viewer_text.keyImages
   */
  constructor(root, options) {
    this.root = root;
    this.text = options.text;
    this.toggle = root.querySelector('#key-image');
    const outline = this.toggle.querySelector('use').getAttribute('href');
    this.outline = outline;
    this.filled = outline.replace(/#i-star$/, '#i-star-filled');
    const entry = document.createElement('button');
    entry.type = 'button';
    entry.className = 'key-images-entry';
    entry.draggable = true;
    entry.dataset.seriesUid = KEY_SERIES_UID;
    entry.setAttribute('aria-pressed', 'false');
    entry.hidden = true;
    entry.innerHTML = `<span class="thumb-placeholder key-thumb" aria-hidden="true"><svg class="icon" width="40" height="40" focusable="false"><use></use></svg></span>
      <span class="series-title"></span><span class="count"></span><span class="key-missing" hidden></span>`;
    entry.querySelector('use').setAttribute('href', this.filled);
    entry.querySelector('.series-title').textContent = this.text.title;
    this.strip = root.querySelector('.series-strip');
    bindStripButton(entry, options);
    this.entry = entry;
  }

  /** Show the study's key images (state/key-images.KeyImages) on the entry. */
  show(keys) {
    // In the strip only while there are key images: a study without any keeps its strip
    // as it was. First in it: what the readers chose comes before the series.
    if (keys.shown && !this.entry.isConnected) this.strip.prepend(this.entry);
    else if (!keys.shown) this.entry.remove();
    this.entry.hidden = !keys.shown;
    this.entry.querySelector('.count').textContent = counted(this.text.count, keys.images.length);
    const missing = this.entry.querySelector('.key-missing');
    missing.hidden = keys.missing === 0;
    missing.textContent = counted(this.text.missing, keys.missing);
  }

  /** Whether the image on screen is one of the person's key images (the toolbar's star). */
  showActive(mine) {
    this.toggle.setAttribute('aria-pressed', String(mine));
    this.toggle.querySelector('use').setAttribute('href', mine ? this.filled : this.outline);
    this.toggle.title = `${mine ? this.text.unmark : this.text.mark} (*)`;
  }
}

/** ``n`` in the singular or plural wording ([one, many], from viewer_text). */
function counted([one, many], n) {
  return (n === 1 ? one : many).replace('%(n)s', String(n));
}
