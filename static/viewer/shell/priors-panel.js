/**
 * The "Priors" section of the series strip: the patient's other studies newest first,
 * a Compare button, and for each prior opened its own series section (thumbnails,
 * dragged or clicked into viewports like the current study's). DOM only: what to
 * fetch and hang is main.js's, which gives the callbacks.
 * @module shell/priors-panel
 */
import { newestFirst } from '../math/priors.js';

/** An element with a class and text. */
function el(tag, className, text = '') {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** "%(name)s" placeholders of a translated string filled in. */
export function fill(template, values) {
  return Object.entries(values).reduce((s, [key, value]) => s.replaceAll(`%(${key})s`, String(value)), template);
}

export class PriorsPanel {
  /**
   * @param {HTMLElement} strip the series strip the section goes into (at its end)
   * @param {{text: object, onOpen: (prior: object) => Promise<object[]>,
   *   onCompare: () => void, onRetrieve: (prior: object) => void,
   *   bindSeries: (button: HTMLElement) => void,
   *   thumbnail: (studyUid: string, seriesUid: string) => string}} options
   *   ``onOpen`` lists a local prior's series (or rejects, saying why); ``bindSeries``
   *   makes a series button open, drag and drop as the strip's own do
   */
  constructor(strip, options) {
    this.options = options;
    this.text = options.text;
    this.priors = [];
    this.opened = new Map(); // study UID → its series section
    this.section = el('section', 'priors');
    this.section.setAttribute('aria-labelledby', 'priors-title');
    const head = el('div', 'priors-head');
    const title = el('h2', 'priors-title', this.text.title);
    title.id = 'priors-title';
    this.compare = el('button', 'priors-compare', this.text.compare);
    this.compare.type = 'button';
    this.compare.id = 'priors-compare';
    this.compare.title = this.text.compareTitle;
    this.compare.hidden = true;
    this.compare.addEventListener('click', () => options.onCompare());
    head.append(title, this.compare);
    this.status = el('p', 'priors-status', this.text.loading);
    this.status.setAttribute('role', 'status');
    this.list = el('ul', 'prior-list');
    this.unreachable = el('p', 'priors-unreachable');
    this.unreachable.hidden = true;
    this.section.append(head, this.status, this.list, this.unreachable);
    strip.append(this.section);
  }

  /** The priors API's answer (io/priors.fetchPriors), shown; opened sections are kept. */
  show(answer) {
    this.priors = newestFirst(answer.priors || []);
    const kept = new Map([...this.list.children].map((row) => [row.dataset.studyUid, row]));
    this.list.replaceChildren(...this.priors.map((prior) => this.row(prior, kept.get(prior.study_uid))));
    this.status.textContent = this.priors.length ? '' : this.text.none;
    this.status.hidden = this.priors.length > 0;
    const names = answer.unreachable || [];
    this.unreachable.hidden = names.length === 0;
    this.unreachable.textContent = names.length ? fill(this.text.unreachable, { nodes: names.join(', ') }) : '';
    this.compare.hidden = !this.priors.some((p) => p.comparable && p.where === 'local');
  }

  /** The list could not be had: say so quietly. */
  failed(message) {
    this.status.hidden = false;
    this.status.textContent = `${this.text.failed}: ${message}`;
  }

  /** A prior's one line of facts: date, modality, description, where, state. */
  summary(prior) {
    const t = this.text;
    const parts = [
      el('span', 'prior-date', prior.study_date || t.noDate),
      el('span', 'prior-modality', prior.modalities || ''),
      el('span', 'prior-description', prior.description || t.noDescription),
    ];
    if (prior.where === 'remote' && prior.node) parts.push(el('span', 'prior-node', fill(t.onNode, { node: prior.node.name })));
    if (prior.retrieving) parts.push(el('span', 'prior-retrieving', t.retrieving));
    if (prior.comparable) parts.push(el('span', 'prior-comparable', t.comparable));
    return parts;
  }

  row(prior, previous) {
    const row = el('li', 'prior');
    row.dataset.studyUid = prior.study_uid;
    row.dataset.where = prior.where;
    if (prior.comparable) row.dataset.comparable = 'true';
    if (prior.where === 'local') {
      const open = el('button', 'prior-open');
      open.type = 'button';
      open.setAttribute('aria-expanded', 'false');
      open.append(...this.summary(prior));
      open.addEventListener('click', () => this.toggle(prior, row));
      row.append(open);
      // A prior opened before the list was asked again keeps its series section.
      const section = this.opened.get(prior.study_uid);
      if (section && previous) {
        open.setAttribute('aria-expanded', String(!section.hidden));
        row.append(section);
      }
      return row;
    }
    const facts = el('div', 'prior-summary');
    facts.append(...this.summary(prior));
    row.append(facts);
    if (prior.retrieve_url && !prior.retrieving) {
      const retrieve = el('button', 'prior-retrieve', this.text.retrieve);
      retrieve.type = 'button';
      retrieve.title = this.text.retrieveTitle;
      retrieve.addEventListener('click', () => {
        this.options.onRetrieve(prior);
        retrieve.replaceWith(el('span', 'prior-retrieving', this.text.retrieving));
      });
      row.append(retrieve);
    } else if (prior.retrieving) {
      const link = el('a', 'prior-link', this.text.openTab);
      link.href = prior.viewer_url || `/studies/${prior.study_uid}/view/`;
      link.target = '_blank';
      link.rel = 'noopener';
      row.append(link);
    }
    return row;
  }

  /** Open a local prior's series section (listing its series the first time), or close it. */
  async toggle(prior, row) {
    const button = row.querySelector('.prior-open');
    const known = this.opened.get(prior.study_uid);
    if (known) {
      known.hidden = !known.hidden;
      button.setAttribute('aria-expanded', String(!known.hidden));
      return known;
    }
    if (button.getAttribute('aria-busy') === 'true') return null;
    button.setAttribute('aria-busy', 'true');
    try {
      const series = await this.options.onOpen(prior);
      const section = this.seriesSection(prior, series);
      this.opened.set(prior.study_uid, section);
      row.append(section);
      button.setAttribute('aria-expanded', 'true');
      return section;
    } catch (error) {
      row.querySelector('.prior-error')?.remove();
      row.append(el('p', 'prior-error', `${this.text.notOpened}: ${error.message}`));
      return null;
    } finally {
      button.removeAttribute('aria-busy');
    }
  }

  /** Open the prior with this study UID, as a click on its row would; its section. */
  async open(studyUid) {
    const row = [...this.list.children].find((r) => r.dataset.studyUid === studyUid);
    const prior = this.priors.find((p) => p.study_uid === studyUid);
    if (!row || !prior || prior.where !== 'local') return null;
    const section = this.opened.get(studyUid);
    if (section) {
      section.hidden = false;
      row.querySelector('.prior-open').setAttribute('aria-expanded', 'true');
      return section;
    }
    return this.toggle(prior, row);
  }

  /** A prior's series as strip buttons, under a heading of its date and description. */
  seriesSection(prior, series) {
    const t = this.text;
    const section = el('div', 'prior-series');
    section.dataset.studyUid = prior.study_uid;
    section.setAttribute('role', 'group');
    const heading = fill(t.heading, { date: prior.study_date || t.noDate });
    const title = el('p', 'prior-series-title', `${heading} · ${prior.description || t.noDescription}`);
    section.setAttribute('aria-label', title.textContent);
    section.append(title);
    for (const entry of series) {
      const button = el('button');
      button.type = 'button';
      button.draggable = true;
      button.dataset.seriesUid = entry.series_uid;
      button.dataset.studyUid = prior.study_uid;
      button.setAttribute('aria-pressed', 'false');
      const image = new Image(96, 96);
      image.alt = '';
      image.loading = 'lazy';
      image.src = this.options.thumbnail(prior.study_uid, entry.series_uid);
      button.append(
        image,
        el('span', 'series-title', `${entry.number ?? ''} ${entry.modality || ''}`.trim()),
        el('span', 'series-description', entry.description || t.noDescription),
        el('span', 'count', fill(t.images, { n: entry.total ?? '' })),
      );
      this.options.bindSeries(button);
      section.append(button);
    }
    return section;
  }
}
