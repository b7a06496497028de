// Invoice (/pay/{invoice}): amount, Solana Pay QR codes, and a status that follows the payment without a
// reload (GET /invoices/{id}: open -> seen -> paid, partially_paid, overpaid, expired; flags late, wrong_mint).
import { describe, get } from '../api.js';
import { config, has, hasAction, pageArgs } from '../config.js';
import { $, amountEl, badge, facts, fill, h, keyEl, notice, setStatus, timeEl, unavailable } from '../dom.js';
import { duration, nowSeconds } from '../time.js';
import { openTx } from '../txflow.js';
import { formatBps, formatUnits } from '../units.js';
import { invoiceView } from '../views.js';

const POLL_MS = 2000;
/** Statuses after which nothing changes by itself; the page stops polling. */
const FINAL = new Set(['paid', 'overpaid']);
/** An expired invoice can still be paid late (flag ``late``): it is asked less often. */
const EXPIRED_POLL_MS = 10000;
const KIND = { open: 'info', seen: 'warn', partially_paid: 'warn', paid: 'ok', overpaid: 'ok', expired: 'err', late: 'warn' };
const SAYS = {
  open: 'Waiting for your payment.',
  seen: 'Payment seen: waiting for it to be finalized.',
  partially_paid: 'Partly paid: the rest is still due.',
  paid: 'Paid. Thank you!',
  overpaid: 'Paid, with more than was due: the excess is credited to your balance.',
  expired: 'Expired before a payment was finalized.',
};

function decimalsOf(v) {
  if (Number.isInteger(v.decimals)) return v.decimals;
  return (config.currencies[v.currency] ?? config.io).decimals;
}

/** The /tx action behind a transaction-request URL of this server (`solana:https://host/tx/pay?...`), if any. */
export function txRequestAction(url) {
  if (!url) return null;
  let link = url.startsWith('solana:') ? url.slice(7) : url;
  if (/^https?%3A/i.test(link)) link = decodeURIComponent(link);
  let u;
  try {
    u = new URL(link, window.location.origin);
  } catch {
    return null;
  }
  const m = /^\/tx\/([^/]+)$/.exec(u.pathname);
  if (!m) return null;
  return { action: decodeURIComponent(m[1]), params: Object.fromEntries(u.searchParams) };
}

function statusLine(v) {
  return `${SAYS[v.status] ?? ''}${v.asOfSlot ? ` (as of finalized slot ${v.asOfSlot})` : ''}`;
}

function qr(url, alt) {
  return h('img', { class: 'qr', src: `/web/qr.svg?data=${encodeURIComponent(url)}`, alt });
}

function render(box, v) {
  const decimals = decimalsOf(v);
  const symbol = config.currencies[v.currency]?.symbol ?? v.currency;
  const tx = txRequestAction(v.txRequestUrl);
  const open = !FINAL.has(v.status) && v.status !== 'expired';
  fill(box,
    v.description ? h('p', { class: 'lede' }, v.description) : null,
    h('p', { class: 'amount-big', id: 'invoice-amount' }, amountEl(v.amount, { decimals, symbol })),
    h('p', {}, 'Status: ', h('span', { id: 'invoice-state' }, badge(v.status ?? 'unknown', KIND[v.status] ?? '')),
      (v.flags ?? []).map((f) => [' ', badge(f, 'warn')])),
    h('p', { id: 'invoice-status', class: 'status', role: 'status', 'aria-live': 'polite' },
      statusLine(v)),
    open ? h('div', { class: 'pay-grid' },
      v.solanaPayUrl ? h('div', {}, h('h2', {}, 'Scan to pay'), qr(v.solanaPayUrl, `QR code of the Solana Pay payment link for ${formatUnits(v.amount ?? '0', decimals)} ${symbol}`),
        h('p', { class: 'small' }, h('a', { href: v.solanaPayUrl }, 'Open in a wallet app'))) : null,
      tx && hasAction(tx.action) ? h('div', {}, h('h2', {}, 'Pay from this browser'),
        h('p', { class: 'small' }, 'Your wallet signs a transfer built for it by the server.'),
        h('button', { type: 'button', class: 'btn', onclick: () => openTx({ ...tx, title: 'Pay invoice', text: `Pay ${formatUnits(v.amount ?? '0', decimals)} ${symbol}.` }) }, 'Pay with wallet')) : null,
    ) : null,
    facts([
      v.expiresAt ? ['Expires', [timeEl(v.expiresAt), open ? h('span', { class: 'sub' }, v.expiresAt > nowSeconds() ? `in ${duration(v.expiresAt - nowSeconds())}` : 'expired') : null]] : null,
      ['Paid (finalized)', h('span', { id: 'invoice-paid' }, amountEl(v.paid, { decimals, symbol }))],
      v.pending && v.pending !== '0' ? ['Seen, not finalized yet', amountEl(v.pending, { decimals, symbol })] : null,
      v.excess && v.excess !== '0' ? ['Above the amount (on your balance)', amountEl(v.excess, { decimals, symbol })] : null,
      v.feeBps ? ['Fee', `${formatBps(v.feeBps)} (taken when booked)`] : null,
      v.createdAt ? ['Created', timeEl(v.createdAt)] : null,
      ['Recipient', keyEl(v.recipient)],
      ['Reference', keyEl(v.reference)],
      v.mint ? ['Mint', keyEl(v.mint)] : null,
      ['Invoice', h('code', {}, v.id ?? '')],
    ]));
}

export async function invoicePage() {
  const { invoice } = pageArgs();
  const box = $('#invoice');
  if (!has('invoice')) {
    fill(box, unavailable('Invoices', 'GET /invoices/{id}'),
      h('p', {}, 'An invoice is paid from its Solana Pay link; payments by reference are already visible at ',
        h('code', {}, 'GET /payments/by-reference/{reference}'), '.'));
    return;
  }
  let last = null;
  const poll = async () => {
    const r = await get(`/invoices/${encodeURIComponent(invoice)}`);
    if (!r.ok) {
      if (last === null) fill(box, notice('error', r.status === 404 ? 'There is no invoice with this id.' : `Could not load the invoice: ${describe(r)}`));
      else setStatus($('#invoice-status'), `Could not refresh: ${describe(r)}; retrying.`, { error: true });
      if (r.status === 404 && last === null) return;
    } else {
      const v = invoiceView(r.data);
      // Redraw when the invoice changed (not on every slot the indexer reads: the QR code would flicker).
      const key = JSON.stringify([v.status, v.paid, v.pending, v.excess, v.flags]);
      if (key !== last) {
        const focused = document.activeElement?.id;
        render(box, v);
        if (focused) document.getElementById(focused)?.focus();
        last = key;
      } else {
        setStatus($('#invoice-status'), statusLine(v));
      }
      document.body.dataset.invoiceStatus = v.status ?? '';
      if (FINAL.has(v.status)) return;
      if (v.status === 'expired') {
        setTimeout(poll, EXPIRED_POLL_MS);
        return;
      }
    }
    setTimeout(poll, POLL_MS);
  };
  await poll();
}
