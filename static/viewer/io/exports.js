/**
 * Telling our server what a person saved in the browser, so its audit trail has it.
 * @module io/exports
 */
import { sendJsonRequest } from './api.js';

/**
 * Report a saved image (see tools/export.js exportReport). Never rejects: a save must
 * not fail, nor wait, because its report did.
 * @param {string} studyUid
 * @param {object} report
 * @param {(url: string, method: string, body: object) => Promise<Response>} [send]
 * @returns {Promise<boolean>} whether the server recorded it
 */
export function reportExport(studyUid, report, send = sendJsonRequest) {
  try {
    return send(`/api/studies/${studyUid}/exports/`, 'POST', report).then(() => true, () => false);
  } catch {
    return Promise.resolve(false);
  }
}
