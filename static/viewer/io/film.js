/**
 * Asking our server to print images as a PDF film.
 * @module io/film
 */
import { fileNameFromDisposition } from '../tools/export.js';

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/**
 * POST the print request; resolves to the PDF and the file name the server chose.
 * @param {string} studyUid
 * @param {{layout: string, paper: string, orientation: string, items: object[]}} body
 * @returns {Promise<{blob: Blob, fileName: string}>}
 */
export async function requestFilm(studyUid, body) {
  const response = await fetch(`/api/studies/${studyUid}/film.pdf`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  const fileName = fileNameFromDisposition(response.headers.get('Content-Disposition'), 'pacsweb-film.pdf');
  return { blob: await response.blob(), fileName };
}
