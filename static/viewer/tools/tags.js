/**
 * The DICOM tag browser: fetch an instance's elements and show them, searchable,
 * with sequences as expandable items.
 * @module tools/tags
 */

/**
 * @param {string} studyUid
 * @param {string} sopUid
 * @returns {Promise<Array<object>>}
 */
export async function loadTags(studyUid, sopUid) {
  const response = await fetch(`/api/studies/${studyUid}/instances/${sopUid}/tags/`, {
    credentials: 'same-origin',
  });
  if (!response.ok) throw new Error(`tags: HTTP ${response.status}`);
  return (await response.json()).elements;
}

/**
 * Whether an element, or anything inside its sequence items, matches the search.
 * @param {{tag: string, keyword: string, value: string, items?: Array<Array<object>>}} element
 * @param {string} needle lower-case search text
 * @returns {boolean}
 */
export function matches(element, needle) {
  if (!needle) return true;
  const own = `${element.tag} ${element.keyword} ${element.value}`.toLowerCase();
  if (own.includes(needle)) return true;
  return (element.items || []).some((item) => item.some((child) => matches(child, needle)));
}

function row(element, needle) {
  const line = document.createElement('div');
  line.className = 'tag-row';
  const label = `${element.tag} ${element.keyword || '(private)'} ${element.vr}`;
  if (element.items) {
    const details = document.createElement('details');
    if (needle) details.open = true;
    const summary = document.createElement('summary');
    summary.textContent = `${label} — ${element.items.length}`;
    details.append(summary);
    element.items.forEach((item, index) => {
      const box = document.createElement('div');
      box.className = 'tag-item';
      box.append(`#${index + 1}`);
      for (const child of item) if (matches(child, needle)) box.append(row(child, needle));
      details.append(box);
    });
    line.append(details);
  } else {
    line.textContent = `${label}  ${element.value}`;
  }
  return line;
}

/**
 * Render the elements matching ``search`` into ``container`` (text only, never HTML).
 * @param {HTMLElement} container
 * @param {Array<object>} elements
 * @param {string} search
 */
export function renderTags(container, elements, search) {
  const needle = (search || '').trim().toLowerCase();
  container.replaceChildren(...elements.filter((e) => matches(e, needle)).map((e) => row(e, needle)));
}
