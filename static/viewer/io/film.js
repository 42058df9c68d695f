/**
 * Asking our server to print images as a PDF film.
 * @module io/film
 */
import { fileNameFromDisposition } from '../tools/export.js';
import { sendJsonRequest } from './api.js';

/**
 * POST the print request; resolves to the PDF and the file name the server chose.
 * @param {string} studyUid
 * @param {{layout: string, paper: string, orientation: string, items: object[]}} body
 * @returns {Promise<{blob: Blob, fileName: string}>}
 */
export async function requestFilm(studyUid, body) {
  const response = await sendJsonRequest(`/api/studies/${studyUid}/film.pdf`, 'POST', body);
  const fileName = fileNameFromDisposition(response.headers.get('Content-Disposition'), 'pacsweb-film.pdf');
  return { blob: await response.blob(), fileName };
}
