// Wallets through the Wallet Standard: Phantom, Solflare, Backpack (and the tests' wallet) register themselves
// in the page; this module finds them, connects, signs the server's sign-in text and signs transactions.
import { getWallets } from '@wallet-standard/app';
import { b58encode } from './b58.js';

const CONNECT = 'standard:connect';
const SIGN_IN = 'solana:signIn';
const SIGN_MESSAGE = 'solana:signMessage';
const SIGN_TX = 'solana:signTransaction';
const SIGN_AND_SEND = 'solana:signAndSendTransaction';

let registry = null;
function wallets() {
  registry = registry ?? getWallets();
  return registry;
}

/** A wallet can sign us in when it connects and signs in (or signs messages) on a Solana chain. */
export function canSignIn(w) {
  return CONNECT in w.features && (SIGN_IN in w.features || SIGN_MESSAGE in w.features)
    && w.chains.some((c) => c.startsWith('solana:'));
}

/** The Solana wallets registered in this page so far. */
export function solanaWallets() {
  return wallets().get().filter(canSignIn);
}

/** Call ``cb`` whenever a wallet registers or goes away; returns the function that stops it. */
export function onWalletsChanged(cb) {
  const offs = [wallets().on('register', cb), wallets().on('unregister', cb)];
  return () => offs.forEach((off) => off());
}

export function findWallet(name) {
  return solanaWallets().find((w) => w.name === name) ?? null;
}

/** Connect (``silent``: without a prompt, for a wallet that already trusts this site); the first account. */
export async function connect(wallet, { silent = false } = {}) {
  const { accounts } = await wallet.features[CONNECT].connect(silent ? { silent: true } : undefined);
  const list = accounts.length ? accounts : wallet.accounts;
  if (!list.length) throw new Error(`${wallet.name} shared no account`);
  return list[0];
}

/** The fields of a Sign-In With Solana text as the Wallet Standard's ``solana:signIn`` input names them. */
export function signInInput(text) {
  const lines = text.split('\n');
  const head = /^(.+) wants you to sign in with your Solana account:$/.exec(lines[0] ?? '');
  if (!head) throw new Error('the server sent no sign-in message');
  const input = { domain: head[1], address: lines[1] };
  const names = {
    URI: 'uri', Version: 'version', 'Chain ID': 'chainId', Nonce: 'nonce', 'Issued At': 'issuedAt',
    'Expiration Time': 'expirationTime', 'Not Before': 'notBefore', 'Request ID': 'requestId',
  };
  const statement = [];
  let inFields = false;
  for (const line of lines.slice(2)) {
    const m = /^([A-Za-z ]+): (.*)$/.exec(line);
    if (m && names[m[1]]) {
      inFields = true;
      input[names[m[1]]] = m[2];
    } else if (!inFields && line !== '') statement.push(line);
  }
  if (statement.length) input.statement = statement.join('\n');
  return input;
}

/**
 * Sign the server's challenge: ``solana:signIn`` with its fields when the wallet has it (the wallet renders the
 * same text), else ``solana:signMessage`` of the text itself. Returns the exact signed bytes and signature.
 */
export async function signChallenge(wallet, account, message) {
  if (SIGN_IN in wallet.features) {
    const [out] = await wallet.features[SIGN_IN].signIn({ ...signInInput(message), address: account.address });
    return { signedMessage: out.signedMessage, signature: out.signature, address: out.account.address, via: SIGN_IN };
  }
  const bytes = new TextEncoder().encode(message);
  const [out] = await wallet.features[SIGN_MESSAGE].signMessage({ account, message: bytes });
  return { signedMessage: out.signedMessage ?? bytes, signature: out.signature, address: account.address, via: SIGN_MESSAGE };
}

/** Whether the wallet can sign a transaction for us to send, or sign and send it itself. */
export function canTransact(wallet) {
  return SIGN_TX in wallet.features || SIGN_AND_SEND in wallet.features;
}

/**
 * Have the wallet sign ``txBytes`` (built by the API with the wallet as fee payer) and get it sent.
 * ``solana:signTransaction`` first, sent by ``sendRaw`` to the cluster this server uses (so a wallet set to
 * another cluster cannot send it elsewhere); else ``solana:signAndSendTransaction``. Returns the signature.
 */
export async function signAndSend(wallet, account, txBytes, chain, sendRaw) {
  if (SIGN_TX in wallet.features) {
    const [out] = await wallet.features[SIGN_TX].signTransaction({ account, transaction: txBytes, chain });
    return sendRaw(out.signedTransaction);
  }
  if (SIGN_AND_SEND in wallet.features) {
    const [out] = await wallet.features[SIGN_AND_SEND].signAndSendTransaction({
      account, transaction: txBytes, chain, options: { preflightCommitment: 'confirmed' },
    });
    return b58encode(out.signature);
  }
  throw new Error(`${wallet.name} cannot sign transactions`);
}
