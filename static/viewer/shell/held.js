/**
 * The strip's "in browser" bar: how much of each series the frame loader holds.
 * @module shell/held
 */

/**
 * Show the loader's per-series counts on the strip's buttons (a bar under each
 * thumbnail, its numbers in the title and for screen readers).
 * @param {{series: Object<string, {held: number, images: number, bytes: number}>}} stats
 * @param {{inBrowser: string, heldTitle: string}} text
 */
export function showHeld(stats, text) {
  for (const button of document.querySelectorAll('.series-strip button[data-series-uid]')) {
    const counts = stats.series[button.dataset.seriesUid];
    if (!counts?.images) continue;
    // In the page from the start, so the strip does not shift as frames come in.
    const meter = button.querySelector('.series-held');
    if (!meter) continue;
    const percent = Math.round((100 * counts.held) / counts.images);
    const title = text.heldTitle.replace('%(held)s', String(counts.held))
      .replace('%(total)s', String(counts.images))
      .replace('%(megabytes)s', String(Math.round(counts.bytes / (1024 * 1024))));
    meter.setAttribute('aria-valuemax', String(counts.images));
    meter.setAttribute('aria-valuenow', String(counts.held));
    meter.setAttribute('aria-label', title);
    meter.title = title;
    meter.dataset.held = String(counts.held);
    meter.querySelector('.bar').style.width = `${percent}%`;
    meter.querySelector('.label').textContent = `${text.inBrowser} ${percent}%`;
  }
}
