// The signed-in session (token from POST /auth/verify), kept for this browser tab only.
const KEY = 'iog.session';

/** {token, address, expires_at, wallet} or null when signed out or expired. */
export function current() {
  let s = null;
  try {
    s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    s = null;
  }
  if (!s || !s.token || Number(s.expires_at) <= Date.now() / 1000) return null;
  return s;
}

export function store(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  window.dispatchEvent(new CustomEvent('iog:session', { detail: session }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
  window.dispatchEvent(new CustomEvent('iog:session', { detail: null }));
}
