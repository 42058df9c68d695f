/**
 * The measurement list: every measurement this person may see in the study, by series
 * and image, each a button that opens it. DOM only; the entries come from
 * tools/measure-list.js.
 * @module shell/measure-panel
 */
import { listEntries, ownerText } from '../tools/measure-list.js';
import { expandFrames } from '../tools/stack.js';

export class MeasurementPanel {
  /**
   * @param {HTMLElement} section the panel, hidden at first, holding an ``ol``, a
   *   ``.empty`` paragraph, a status line and ``a[data-export]`` links
   * @param {{text: object, kindNames: Record<string, string>, seriesOrder: string[],
   *   loadSeries: (uid: string) => Promise<object>,
   *   frameFor: (measurement: object) => Promise<object | null> | null,
   *   measurements: () => object[], selected: () => number | null,
   *   onOpen: (measurement: object) => void,
   *   priorOf?: (measurement: object) => string | null}} options ``priorOf`` names the
   *   prior a measurement was drawn on ("Prior <date>"), null for the open study's
   */
  constructor(section, options) {
    this.section = section;
    this.options = options;
    this.list = section.querySelector('ol');
    this.empty = section.querySelector('.empty');
    this.generation = 0;
    this.list.addEventListener('click', (event) => {
      const id = Number(event.target.closest('button[data-id]')?.dataset.id);
      const found = this.options.measurements().find((m) => m.id === id);
      if (found) this.options.onOpen(found);
    });
    this.status = section.querySelector('[role="status"]');
    for (const link of section.querySelectorAll('a[data-export]')) {
      link.addEventListener('click', (event) => {
        event.preventDefault();
        this.download(link);
      });
    }
  }

  /** Fetch an export and save it, or say why there is none (a plain link would save the error). */
  async download(link) {
    this.status.textContent = '';
    try {
      const response = await fetch(link.href, { credentials: 'same-origin' });
      if (!response.ok) {
        let detail = `HTTP ${response.status}`;
        try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
        throw new Error(detail);
      }
      const url = URL.createObjectURL(await response.blob());
      const save = document.createElement('a');
      save.href = url;
      save.download = link.getAttribute('download') || '';
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      this.status.textContent = `${this.options.text.notExported}: ${error.message}`;
    }
  }

  /** Show or hide the list; returns whether it is shown. */
  toggle() {
    this.section.hidden = !this.section.hidden;
    this.refresh();
    return !this.section.hidden;
  }

  /** List the measurements again (only while shown); the latest call wins. */
  async refresh() {
    if (this.section.hidden) return;
    const generation = ++this.generation;
    const all = this.options.measurements();
    const stacks = new Map();
    await Promise.all([...new Set(all.map((m) => m.series_uid))].map(async (uid) => {
      try {
        const series = await this.options.loadSeries(uid);
        stacks.set(uid, { ...series, instances: expandFrames(series.instances) });
      } catch { /* listed without its series' details */ }
    }));
    const frames = new Map(await Promise.all(
      all.map(async (m) => [m.id, await (this.options.frameFor(m) || null)]),
    ));
    if (generation !== this.generation) return;
    this.render(listEntries(all, this.options.seriesOrder, stacks, (m) => frames.get(m.id)));
  }

  render(entries) {
    const { text, kindNames, selected } = this.options;
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    const items = entries.map(({ measurement, series, image, value }) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.id = String(measurement.id);
      if (measurement.id === selected()) button.setAttribute('aria-current', 'true');
      const seriesName = series ? `${series.number ?? ''} ${series.description || ''}`.trim() : text.unknownSeries;
      // One drawn on a prior says so first: its series may be named as the study's are.
      const where = [this.options.priorOf?.(measurement), seriesName].filter(Boolean).join(' · ');
      const parts = [
        ['m-where', image ? `${where} · ${text.image} ${image}` : where],
        ['m-what', `${kindNames[measurement.kind] || measurement.kind}: ${value}`],
        ['m-whose', ownerText(measurement, text)],
      ];
      for (const [name, content] of parts) {
        const span = document.createElement('span');
        span.className = name;
        span.textContent = content;
        button.append(span);
      }
      const item = document.createElement('li');
      item.append(button);
      return item;
    });
    this.list.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
    // Keyboard users keep their place when the list is drawn again.
    if (focused) this.list.querySelector(`button[data-id="${focused}"]`)?.focus();
  }
}
