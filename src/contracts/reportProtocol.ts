/**
 * Messages between the run report's webview (webview/report.ts) and the extension host
 * (src/extension/report.ts). Types only.
 *
 *   webview → host   { type: 'adversarialPage', page }   show another page of adversarial examples
 *                    { type: 'regenerate' }              make the run's adversarial examples again
 *   host → webview   { type: 'adversarial', html }       the adversarial section's new content
 *                    { type: 'status', text, busy }      what the host is doing about it
 */
export type ReportToHost = { type: 'adversarialPage'; page: number } | { type: 'regenerate' };

export type HostToReport = { type: 'adversarial'; html: string } | { type: 'status'; text: string; busy: boolean };

/**
 * The model inspector's webview (webview/inspector.ts) and the host (src/extension/inspector.ts).
 *
 *   webview → host   { type: 'ready' }           the page's script is listening
 *                    { type: 'rendered' }        the model's page is in place (the open time ends here)
 *                    { type: 'chooseImages' }    pick images and show which weights they rely on
 *   host → webview   { type: 'page', html }         the page's content (the model, or why it cannot be shown)
 *                    { type: 'importance', html }   the importance section's new content
 *                    { type: 'status', text, busy }
 */
export type InspectorToHost = { type: 'ready' } | { type: 'rendered' } | { type: 'chooseImages' };

export type HostToInspector = { type: 'page'; html: string } | { type: 'importance'; html: string } | { type: 'status'; text: string; busy: boolean };
