// A wallet paying a Solana Pay transfer-request URL with @solana/pay's own functions, and the merchant's checks.
// argv[2] = JSON {mode: "pay" | "validate", rpc, ws, url, secretKey?: [64 bytes], signature?}
//   pay:      parseURL(url) -> createTransfer(connection, wallet, fields) -> sign -> send -> confirm (confirmed)
//             prints {signature, recipient, amount, splToken, reference, label, message, memo}
//   validate: findReference(reference, finalized) + validateTransfer(signature, fields of the URL, finalized)
//             prints {found, validated}
import { Connection, Keypair } from '@solana/web3.js';
import { parseURL, createTransfer, findReference, validateTransfer } from '@solana/pay';

const arg = JSON.parse(process.argv[2]);
const connection = new Connection(arg.rpc, { commitment: 'confirmed', wsEndpoint: arg.ws });
const parsed = parseURL(arg.url);
if (parsed.link) throw new Error('a transaction request URL, not a transfer request');
const fields = {
  recipient: parsed.recipient,
  amount: parsed.amount,
  splToken: parsed.splToken,
  reference: parsed.reference,
  memo: parsed.memo,
};
const described = {
  recipient: parsed.recipient.toBase58(),
  amount: parsed.amount ? parsed.amount.toString() : null,
  splToken: parsed.splToken ? parsed.splToken.toBase58() : null,
  reference: (parsed.reference || []).map((r) => r.toBase58()),
  label: parsed.label ?? null,
  message: parsed.message ?? null,
  memo: parsed.memo ?? null,
};

if (arg.mode === 'pay') {
  const wallet = Keypair.fromSecretKey(Uint8Array.from(arg.secretKey));
  const transaction = await createTransfer(connection, wallet.publicKey, fields, { commitment: 'confirmed' });
  transaction.sign(wallet);
  const signature = await connection.sendRawTransaction(transaction.serialize());
  const latest = await connection.getLatestBlockhash('confirmed');
  const result = await connection.confirmTransaction(
    { signature, blockhash: transaction.recentBlockhash, lastValidBlockHeight: latest.lastValidBlockHeight },
    'confirmed',
  );
  if (result.value.err) throw new Error(`payment failed: ${JSON.stringify(result.value.err)}`);
  console.log(JSON.stringify({ signature, ...described }));
} else {
  const found = await findReference(connection, parsed.reference[0], { finality: 'finalized' });
  await validateTransfer(connection, arg.signature ?? found.signature, fields, { commitment: 'finalized' });
  console.log(JSON.stringify({ found: found.signature, validated: true, ...described }));
}
