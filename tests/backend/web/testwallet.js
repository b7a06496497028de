// TEST CODE ONLY: a wallet that registers itself in the page through the Wallet Standard, like Phantom or
// Solflare do, so the browser tests drive the app's real wallet code. Its key never enters the page: the test
// process holds a fixed keypair and signs through two functions it exposes (window.iogTestWalletSignMessage,
// window.iogTestWalletSignTransaction, both base64 in and out). Injected with page.add_init_script after
// `window.__iogTestWallet = {address, publicKey, name}`.
(() => {
  const cfg = window.__iogTestWallet;
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const chains = ['solana:localnet', 'solana:devnet', 'solana:mainnet'];
  const features = ['solana:signIn', 'solana:signMessage', 'solana:signTransaction'];
  const account = Object.freeze({
    address: cfg.address, publicKey: Uint8Array.from(cfg.publicKey), chains, features, label: 'test',
  });
  const listeners = { change: [] };
  const calls = (window.__iogTestWalletCalls = []);
  let connected = false;

  // The text Wallet Standard wallets render for solana:signIn (createSignInMessageText).
  function signInText(input) {
    let text = `${input.domain} wants you to sign in with your Solana account:\n${input.address}`;
    if (input.statement) text += `\n\n${input.statement}`;
    const fields = [];
    if (input.uri) fields.push(`URI: ${input.uri}`);
    if (input.version) fields.push(`Version: ${input.version}`);
    if (input.chainId) fields.push(`Chain ID: ${input.chainId}`);
    if (input.nonce) fields.push(`Nonce: ${input.nonce}`);
    if (input.issuedAt) fields.push(`Issued At: ${input.issuedAt}`);
    if (input.expirationTime) fields.push(`Expiration Time: ${input.expirationTime}`);
    if (input.notBefore) fields.push(`Not Before: ${input.notBefore}`);
    if (input.requestId) fields.push(`Request ID: ${input.requestId}`);
    if (fields.length) text += `\n\n${fields.join('\n')}`;
    return text;
  }

  async function sign(bytes) {
    return unb64(await window.iogTestWalletSignMessage(b64(bytes)));
  }

  const wallet = {
    version: '1.0.0',
    name: cfg.name,
    icon: 'data:image/svg+xml;base64,' + btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#7a3"/></svg>'),
    chains,
    get accounts() { return connected ? [account] : []; },
    features: {
      'standard:connect': {
        version: '1.0.0',
        connect: async (input) => {
          calls.push(['connect', Boolean(input?.silent)]);
          connected = true;
          listeners.change.forEach((fn) => fn({ accounts: [account] }));
          return { accounts: [account] };
        },
      },
      'standard:disconnect': { version: '1.0.0', disconnect: async () => { connected = false; } },
      'standard:events': {
        version: '1.0.0',
        on: (event, fn) => {
          (listeners[event] ??= []).push(fn);
          return () => { listeners[event] = listeners[event].filter((f) => f !== fn); };
        },
      },
      'solana:signIn': {
        version: '1.0.0',
        signIn: async (...inputs) => Promise.all(inputs.map(async (input) => {
          calls.push(['signIn', input]);
          connected = true;
          const signedMessage = new TextEncoder().encode(signInText({ ...input, address: input.address ?? cfg.address }));
          return { account, signedMessage, signature: await sign(signedMessage), signatureType: 'ed25519' };
        })),
      },
      'solana:signMessage': {
        version: '1.0.0',
        signMessage: async (...inputs) => Promise.all(inputs.map(async ({ message }) => {
          calls.push(['signMessage']);
          return { signedMessage: message, signature: await sign(message), signatureType: 'ed25519' };
        })),
      },
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: async (...inputs) => Promise.all(inputs.map(async ({ transaction, chain }) => {
          calls.push(['signTransaction', chain]);
          const signed = await window.iogTestWalletSignTransaction(b64(transaction));
          return { signedTransaction: unb64(signed) };
        })),
      },
    },
  };
  if (cfg.withoutSignIn) delete wallet.features['solana:signIn'];

  // @wallet-standard/wallet registerWallet(): announce now, and again when the app says it is ready.
  const callback = ({ register }) => register(wallet);
  window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: callback }));
  window.addEventListener('wallet-standard:app-ready', (event) => callback(event.detail));
})();
