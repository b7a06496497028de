// What the server told this page about itself (embedded JSON, see backend/web/api.py page_config).
const node = typeof document !== 'undefined' ? document.getElementById('iog-config') : null;

/** @type {{cluster: string, chain: string, rpc_url: string, api_uri: string,
 *   io: {symbol: string, decimals: number, mint: string|null},
 *   currencies: Record<string, {symbol: string, decimals: number, mint: string|null}>,
 *   features: Record<string, boolean>, actions: string[], program_errors: Record<string, string>,
 *   epoch: {seconds: number, genesis: number}|null}} */
export const config = node
  ? JSON.parse(node.textContent)
  : { io: { symbol: 'IO', decimals: 8 }, currencies: {}, features: {}, actions: [], program_errors: {}, epoch: null };

/** Whether the server has the API route behind ``name`` (backend/web/features.py). */
export function has(name) {
  return Boolean(config.features[name]);
}

/** Whether the server registered the transaction-request action ``name`` (GET/POST /tx/{name}). */
export function hasAction(name) {
  return config.actions.includes(name);
}

/** Arguments the server rendered into the page (e.g. the node address). */
export function pageArgs() {
  const el = typeof document !== 'undefined' ? document.getElementById('page-args') : null;
  return el ? JSON.parse(el.textContent) : {};
}
