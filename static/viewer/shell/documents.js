/**
 * Reports and documents in the series strip: a PDF (the browser's own viewer) or an SR
 * report (HTML the server renders) in a panel that takes the viewports' place.
 * @module shell/documents
 */

/**
 * Open a strip entry's document in the panel; its image links open in the viewer.
 * The server renders the report (one template for the panel and its own page, translated
 * there, with the archive's view of which images exist), so this module only fetches and
 * places it.
 * @param {HTMLElement} root the viewer (carries data-document while a document is shown)
 * @param {{openImage: (image: {series_uid: string, sop_instance_uid: string,
 *   frame: number}) => void, onOpen?: () => void}} actions onOpen: a document was chosen
 */
export function bindDocuments(root, { openImage, onOpen }) {
  const panel = root.querySelector('#document-panel');
  if (!panel) return;
  const entries = [...root.querySelectorAll('.series-strip a[data-document]')];
  let opener = null;
  let request = null;

  function close() {
    if (panel.hidden) return;
    request?.abort();
    panel.hidden = true;
    panel.replaceChildren(); // the PDF's <object> stops with it
    delete root.dataset.document;
    for (const entry of entries) entry.removeAttribute('aria-current');
    opener?.focus({ preventScroll: true });
    opener = null;
  }

  async function open(entry) {
    request?.abort();
    request = new AbortController();
    opener = entry;
    for (const other of entries) other.toggleAttribute('aria-current', other === entry);
    entry.setAttribute('aria-current', 'true');
    root.dataset.document = entry.dataset.document;
    panel.hidden = false;
    onOpen?.();
    panel.setAttribute('aria-busy', 'true');
    try {
      const response = await fetch(entry.dataset.panelUrl, {
        credentials: 'same-origin', signal: request.signal,
      });
      // A damaged report comes back 422 with its own explanation: show that too.
      if (!response.ok && response.status !== 422) throw new Error(`HTTP ${response.status}`);
      panel.innerHTML = await response.text(); // our own template, escaped by Django
    } catch (error) {
      if (error.name === 'AbortError') return;
      const message = document.createElement('p');
      message.className = 'error';
      message.setAttribute('role', 'alert');
      message.textContent = `${panel.dataset.failed}: ${error.message}`;
      panel.replaceChildren(message);
    } finally {
      panel.removeAttribute('aria-busy');
    }
    panel.dataset.kind = entry.dataset.document;
    panel.querySelector('h2')?.focus({ preventScroll: true });
    // On a phone the panel starts below the strip and the toolbar: bring it up.
    if (panel.getBoundingClientRect().top > window.innerHeight / 3) panel.scrollIntoView({ block: 'start' });
  }

  for (const entry of entries) {
    entry.addEventListener('click', (event) => {
      // Ctrl/Cmd/Shift or a middle click: the page of its own, in a new tab, as a link does.
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      open(entry);
    });
  }
  panel.addEventListener('click', (event) => {
    if (event.target.closest('[data-close]')) {
      close();
      return;
    }
    const link = event.target.closest('a[data-sop-instance-uid]');
    if (!link || link.dataset.studyUid !== root.dataset.studyUid) return; // another study: a page
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    opener = null; // the focus goes to the image, not back to the strip
    close();
    openImage({
      series_uid: link.dataset.seriesUid,
      sop_instance_uid: link.dataset.sopInstanceUid,
      frame: Number(link.dataset.frame) || 1,
    });
  });
  // The viewer's keys (arrows scroll, letters switch tools) are not for the report.
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
    event.stopPropagation();
  });
  // Choosing a series puts the images back.
  root.querySelector('.series-strip')?.addEventListener('click', (event) => {
    if (event.target.closest('button[data-series-uid]')) close();
  }, true);
}
