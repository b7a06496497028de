// Sign-In With Solana from the page: connect, sign the server-issued text, exchange it for a token.
// The header shows who is signed in; the wallet dialog lists the wallets registered in the page.
import { describe, get, post } from './api.js';
import { b64encode } from './b58.js';
import { has } from './config.js';
import { $, fill, h, keyEl, setStatus } from './dom.js';
import { clear, current, store } from './session-store.js';
import { canSignIn, connect, onWalletsChanged, signChallenge, solanaWallets } from './wallets.js';

export { current };

/** Let the person pick one of the wallets registered in the page; resolves to it, or null when closed. */
export function chooseWallet() {
  const dialog = $('#wallet-dialog');
  const list = $('#wallet-list');
  const status = $('#wallet-dialog-status');
  setStatus(status, '');
  return new Promise((resolve) => {
    let done = false;
    const finish = (w) => {
      if (done) return;
      done = true;
      stop();
      resolve(w);
    };
    const render = () => {
      const found = solanaWallets();
      if (!found.length) {
        fill(list, h('p', {}, 'No Solana wallet found in this browser. Install Phantom, Solflare or Backpack '
          + '(they appear here by themselves), or use the QR codes on each page with a mobile wallet.'));
        return;
      }
      fill(list, found.map((w) => h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => finish(w) },
        w.icon ? h('img', { src: w.icon, alt: '' }) : null, w.name)));
    };
    const stop = onWalletsChanged(render);
    dialog.addEventListener('close', () => finish(null), { once: true });
    render();
    if (!dialog.open) dialog.showModal();
  });
}

/** Sign in with ``wallet``: connect, challenge, signIn (or signMessage), verify. Returns the session. */
export async function signIn(wallet) {
  if (!canSignIn(wallet)) throw new Error(`${wallet.name} can neither sign in nor sign messages`);
  const account = await connect(wallet);
  const challenge = await post('/auth/challenge', { address: account.address });
  if (!challenge.ok) throw new Error(`no sign-in challenge: ${describe(challenge)}`);
  const signed = await signChallenge(wallet, account, challenge.data.message);
  const verified = await post('/auth/verify', {
    message: b64encode(signed.signedMessage),
    signature: b64encode(signed.signature),
    encoding: 'base64',
  });
  if (!verified.ok) throw new Error(`sign-in refused: ${describe(verified)}`);
  const session = {
    token: verified.data.token,
    address: verified.data.address,
    expires_at: verified.data.expires_at,
    wallet: wallet.name,
    via: signed.via,
  };
  store(session);
  return session;
}

/** The whole interactive flow behind a "Sign in" button. */
export async function signInInteractive() {
  const dialog = $('#wallet-dialog');
  const status = $('#wallet-dialog-status');
  const wallet = await chooseWallet();
  if (!wallet) return null;
  try {
    setStatus(status, `Approve the sign-in in ${wallet.name}…`);
    if (!dialog.open) dialog.showModal();
    const session = await signIn(wallet);
    dialog.close();
    return session;
  } catch (e) {
    setStatus(status, String(e.message ?? e), { error: true });
    if (!dialog.open) dialog.showModal();
    return null;
  }
}

export async function signOut() {
  const s = current();
  if (s) await post('/auth/logout', undefined, { token: s.token });
  clear();
}

function renderHeader() {
  const box = $('#session');
  if (!box) return;
  const s = current();
  if (s) {
    fill(
      box,
      h('span', { class: 'small' }, 'Signed in as ', keyEl(s.address, '/wallet')),
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', id: 'sign-out', onclick: signOut }, 'Sign out'),
    );
  } else {
    fill(box, h('button', { type: 'button', class: 'btn', id: 'sign-in', onclick: signInInteractive }, 'Sign in'));
  }
}

/** Header widget; a stored token the server no longer accepts (expired, logged out elsewhere) is dropped. */
export async function initSession() {
  renderHeader();
  window.addEventListener('iog:session', renderHeader);
  const s = current();
  if (s && has('auth')) {
    const me = await get('/auth/me', { token: s.token });
    if (!me.ok && me.status === 401) clear();
  }
}
