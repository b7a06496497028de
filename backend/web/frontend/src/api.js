// The iog API, same origin. Every call answers a result object instead of throwing:
//   {ok: true, data} | {ok: false, kind: 'unavailable'|'error'|'network', status, error, detail, reason}
// 'unavailable' is a 404 without the API's {error} body: the route itself is not on this server (yet).
import { current } from './session-store.js';

export function qs(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '' && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function request(method, path, { body, token, auth = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const bearer = token ?? (auth ? current()?.token : null);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { ok: false, kind: 'network', status: 0, error: 'NetworkError', detail: String(e?.message ?? e) };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, status: res.status, data };
  if (res.status === 404 && !(data && data.error)) {
    return { ok: false, kind: 'unavailable', status: 404, error: 'NotAvailable', detail: `${path} is not on this server` };
  }
  return {
    ok: false,
    kind: 'error',
    status: res.status,
    error: data?.error ?? `HTTP ${res.status}`,
    detail: typeof data?.detail === 'string' ? data.detail : JSON.stringify(data?.detail ?? ''),
    reason: data?.reason,
  };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });

/** Every item of an offset-paginated listing ({items, total, limit, offset}), up to ``max``. */
export async function getAll(path, { max = 2000, limit = 500 } = {}) {
  const items = [];
  for (let offset = 0; offset < max; offset += limit) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await get(`${path}${sep}limit=${limit}&offset=${offset}`);
    if (!r.ok) return r;
    items.push(...(r.data.items ?? []));
    if (items.length >= (r.data.total ?? 0) || (r.data.items ?? []).length < limit) break;
  }
  return { ok: true, data: { items } };
}

/** "Error: detail" for a failed result. */
export function describe(r) {
  if (r.kind === 'unavailable') return 'not available yet on this server';
  if (r.kind === 'network') return `the API did not answer (${r.detail})`;
  return r.detail ? `${r.error}: ${r.detail}` : r.error;
}
