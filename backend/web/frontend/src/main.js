// Entry point of the browser module: the header's sign-in, the footer's indexer slot, then the page's code.
import { get } from './api.js';
import { has } from './config.js';
import { $ } from './dom.js';
import { epochsPage } from './pages/epochs.js';
import { invoicePage } from './pages/invoice.js';
import { marketplacePage } from './pages/marketplace.js';
import { nodePage } from './pages/node.js';
import { walletPage } from './pages/wallet.js';
import { initSession } from './session.js';

const PAGES = { marketplace: marketplacePage, node: nodePage, wallet: walletPage, invoice: invoicePage, epochs: epochsPage };

async function indexerSlot() {
  const el = $('#as-of');
  if (!el || !has('indexer_status')) {
    if (el) el.textContent = '';
    return;
  }
  const r = await get('/indexer/status');
  const slots = r.ok ? (r.data.addresses ?? []).map((a) => a.synced_slot ?? a.last_slot).filter((s) => s !== null) : [];
  // The slowest watched address bounds what every page can claim to show.
  el.textContent = slots.length ? `Indexed to slot ${Math.min(...slots)} (finalized)` : 'Indexer: nothing read yet';
}

async function main() {
  document.body.dataset.ready = 'loading';
  const page = PAGES[document.body.dataset.page];
  await Promise.all([initSession(), indexerSlot(), page ? page() : null]);
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  const main = $('#main');
  const p = document.createElement('p');
  p.className = 'notice notice-error';
  p.setAttribute('role', 'alert');
  p.textContent = `Something went wrong on this page: ${e.message ?? e}`;
  main?.prepend(p);
  throw e;
});
