/**
 * The viewer's side panels (help, DICOM tags, measurements): one at a time, floating
 * over the images inside the window, each with a close button and Esc.
 * @module shell/panels
 */

/**
 * Keep the panels ``ids`` one at a time: when one opens the others close, it takes the
 * focus (so Esc and Tab reach it), and ``onChange(id, shown)`` hears each change.
 * @param {string[]} ids
 * @param {(id: string, shown: boolean) => void} onChange
 */
export function bindPanels(ids, onChange) {
  const panels = ids.map((id) => document.getElementById(id));
  const observer = new MutationObserver((records) => {
    for (const { target } of records) {
      onChange(target.id, !target.hidden);
      if (target.hidden) continue;
      for (const other of panels) if (other !== target && !other.hidden) other.hidden = true;
      if (!target.contains(document.activeElement)) target.focus({ preventScroll: true });
    }
  });
  for (const panel of panels) {
    panel.tabIndex = -1;
    observer.observe(panel, { attributes: true, attributeFilter: ['hidden'] });
    panel.querySelector('[data-close-panel]')?.addEventListener('click', () => close(panel));
    panel.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.stopPropagation(); // Esc closes the panel, nothing else
      close(panel);
    });
  }
}

function close(panel) {
  panel.hidden = true;
  document.getElementById('viewer').focus({ preventScroll: true });
}
