// One dialog for every transaction request: the API builds (POST /tx/{action}), the wallet signs, the page
// sends and follows it until finalized. A mobile wallet scans the QR code of the same request instead.
import { describe, get, post, qs } from './api.js';
import { b64decode } from './b58.js';
import { config, hasAction } from './config.js';
import { $, fill, h, keyEl, setStatus } from './dom.js';
import { follow, sendRaw } from './rpc.js';
import { current, signInInteractive } from './session.js';
import { AmountError, parseUnits } from './units.js';
import { canTransact, connect, findWallet, signAndSend } from './wallets.js';

/**
 * A button that opens the transaction dialog for ``action``, or a disabled one saying why not.
 * @param {object} spec see openTx
 */
export function txButton(label, spec, { small = true } = {}) {
  const cls = `btn${small ? ' btn-small' : ''}`;
  if (!hasAction(spec.action)) {
    return h('button', {
      type: 'button', class: cls, disabled: true, title: `/tx/${spec.action} is not available yet on this server`,
    }, label, h('span', { class: 'sr-only' }, ` (not available yet: /tx/${spec.action})`));
  }
  return h('button', { type: 'button', class: cls, 'data-action': spec.action, onclick: () => openTx(spec) }, label);
}

/**
 * Open the dialog.
 * @param {{action: string, title: string, text?: string, params?: object,
 *   amount?: {param: string, label: string, decimals?: number, hint?: string},
 *   onFinalized?: (signature: string) => void}} spec
 */
export function openTx(spec) {
  const dialog = $('#tx-dialog');
  fill($('#tx-dialog-title'), spec.title);
  const body = $('#tx-dialog-body');
  const steps = h('ol', { class: 'steps', 'aria-live': 'polite', id: 'tx-steps' });
  const ready = h('div', { id: 'tx-ready' });
  fill(body, spec.text ? h('p', {}, spec.text) : null);
  if (spec.amount) {
    const decimals = spec.amount.decimals ?? config.io.decimals;
    const input = h('input', {
      id: 'tx-amount', name: 'amount', type: 'text', inputmode: 'decimal', autocomplete: 'off', required: true,
      'aria-describedby': 'tx-amount-hint',
    });
    const hint = h('p', { id: 'tx-amount-hint', class: 'small muted' },
      spec.amount.hint ?? `Up to ${decimals} decimal places.`);
    const form = h('form', { class: 'inline-form', novalidate: true },
      h('label', { for: 'tx-amount' }, spec.amount.label), input,
      h('button', { type: 'submit', class: 'btn' }, 'Continue'), hint);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      let units;
      try {
        units = parseUnits(input.value, decimals);
        if (units === '0') throw new AmountError('enter more than zero');
      } catch (e) {
        input.setAttribute('aria-invalid', 'true');
        setStatus(hint, `Amount: ${e.message}.`, { error: true });
        input.focus();
        return;
      }
      input.removeAttribute('aria-invalid');
      setStatus(hint, `= ${units} base units.`);
      prepare(ready, steps, spec, { ...spec.params, [spec.amount.param]: units });
    });
    body.append(form);
  }
  body.append(ready, steps);
  if (!spec.amount) prepare(ready, steps, spec, spec.params ?? {});
  if (!dialog.open) dialog.showModal();
  (spec.amount ? $('#tx-amount') : ready.querySelector('button'))?.focus();
}

function prepare(ready, steps, spec, params) {
  steps.replaceChildren();
  const qr = h('div', {}, h('p', { class: 'small muted' }, 'Loading the QR code…'));
  const signBox = h('div', {});
  fill(ready, h('div', { class: 'pay-grid' },
    h('div', {}, h('h3', {}, 'With this browser\'s wallet'), signBox),
    h('div', {}, h('h3', {}, 'With a mobile wallet'), qr)));
  renderSign(signBox, steps, spec, params);
  window.addEventListener('iog:session', () => renderSign(signBox, steps, spec, params), { once: true });
  get(`/tx/${spec.action}/link${qs(params)}`).then((r) => {
    if (!r.ok) return fill(qr, h('p', { class: 'small' }, `No QR code: ${describe(r)}`));
    return fill(qr,
      h('img', { class: 'qr', src: r.data.qr_svg, alt: `QR code of the Solana Pay transaction request: ${r.data.url}` }),
      h('p', { class: 'small' }, 'Scan with a Solana Pay wallet, or ', h('a', { href: r.data.url }, 'open the link'), '.'));
  });
}

function renderSign(box, steps, spec, params) {
  const s = current();
  if (!s) {
    fill(box, h('p', { class: 'small' }, 'Sign in to sign with a wallet in this browser.'),
      h('button', { type: 'button', class: 'btn', onclick: signInInteractive }, 'Sign in'));
    return;
  }
  const go = h('button', { type: 'button', class: 'btn', id: 'tx-sign' }, 'Sign and send');
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      await run(steps, spec, params, s);
    } finally {
      go.disabled = false;
    }
  });
  fill(box, h('p', { class: 'small' }, 'As ', keyEl(s.address), ` with ${s.wallet}.`), go);
}

function step(steps, text, kind = '') {
  const li = h('li', { class: kind }, text);
  steps.append(li);
  return li;
}

async function run(steps, spec, params, session) {
  steps.replaceChildren();
  try {
    const wallet = findWallet(session.wallet);
    if (!wallet) throw new Error(`${session.wallet} is not in this page any more; sign in again`);
    if (!canTransact(wallet)) throw new Error(`${wallet.name} cannot sign transactions`);
    const account = await connect(wallet, { silent: true });
    if (account.address !== session.address) throw new Error('the wallet switched accounts; sign in again');
    step(steps, 'Building the transaction…');
    const built = await post(`/tx/${spec.action}${qs(params)}`, { account: account.address });
    if (!built.ok) throw new Error(describe(built));
    step(steps, `Approve in ${wallet.name}: ${built.data.message}`);
    const signature = await signAndSend(wallet, account, b64decode(built.data.transaction), config.chain, sendRaw);
    const sent = step(steps, 'Sent: ');
    sent.append(h('code', { id: 'tx-signature', title: signature }, signature));
    const line = step(steps, 'Waiting for confirmation…');
    const final = await follow(signature, {
      lastValidBlockHeight: built.data.last_valid_block_height,
      onStatus: (level, slot) => {
        line.textContent = `${level[0].toUpperCase()}${level.slice(1)} at slot ${slot}`;
      },
    });
    line.textContent = `Finalized at slot ${final.slot} ✓`;
    line.className = 'ok';
    const done = step(steps, 'Done. Pages show it as soon as the indexer has read it.');
    done.id = 'tx-finalized';
    window.dispatchEvent(new CustomEvent('iog:tx-finalized', { detail: { action: spec.action, signature } }));
    spec.onFinalized?.(signature);
  } catch (e) {
    const li = step(steps, `Failed: ${e.message ?? e}`, 'error');
    li.id = 'tx-error';
    li.setAttribute('role', 'alert');
  }
}
