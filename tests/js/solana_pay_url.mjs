// @solana/pay's own URL functions: parse our URLs as a wallet does, and encode the same fields as a merchant would.
// argv[2] = JSON {parse: [url, ...], encode: [{recipient, amount, splToken, reference: [..], label, message, memo}]}
// prints {parsed: [{recipient, amount, splToken, reference, label, message, memo} | {error}], encoded: [url, ...]}
import { PublicKey } from '@solana/web3.js';
import { parseURL, encodeURL } from '@solana/pay';
import BigNumber from 'bignumber.js';

const arg = JSON.parse(process.argv[2]);
const parsed = (arg.parse || []).map((url) => {
  try {
    const p = parseURL(url);
    if (p.link) return { link: p.link.toString(), label: p.label ?? null, message: p.message ?? null };
    return {
      recipient: p.recipient.toBase58(),
      amount: p.amount ? p.amount.toFixed() : null,
      splToken: p.splToken ? p.splToken.toBase58() : null,
      reference: (p.reference || []).map((r) => r.toBase58()),
      label: p.label ?? null,
      message: p.message ?? null,
      memo: p.memo ?? null,
    };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
});
const encoded = (arg.encode || []).map((f) =>
  encodeURL({
    recipient: new PublicKey(f.recipient),
    amount: new BigNumber(f.amount),
    splToken: new PublicKey(f.splToken),
    reference: f.reference.map((r) => new PublicKey(r)),
    label: f.label,
    message: f.message,
    memo: f.memo,
  }).toString(),
);
console.log(JSON.stringify({ parsed, encoded }));
