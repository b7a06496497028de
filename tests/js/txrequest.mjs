// A wallet following a Solana Pay transaction request with @solana/pay's own functions:
// argv[2] = JSON {rpc, ws, url: "solana:https://...", secretKey: [64 bytes]}
// parseURL -> GET label/icon -> fetchTransaction (POST {account}) -> sign -> send -> confirm.
// prints {label, icon, signature, err, programs, feePayer, message}
import { Connection, Keypair } from '@solana/web3.js';
import { parseURL, fetchTransaction } from '@solana/pay';

const arg = JSON.parse(process.argv[2]);
const connection = new Connection(arg.rpc, { commitment: 'confirmed', wsEndpoint: arg.ws });
const wallet = Keypair.fromSecretKey(Uint8Array.from(arg.secretKey));
const parsed = parseURL(arg.url);
if (!parsed.link) throw new Error('not a transaction request URL');
const meta = await (await fetch(parsed.link)).json();
const transaction = await fetchTransaction(connection, wallet.publicKey, parsed.link);
transaction.partialSign(wallet);
const signature = await connection.sendRawTransaction(transaction.serialize());
const result = await connection.confirmTransaction(
  { signature, blockhash: transaction.recentBlockhash, lastValidBlockHeight: (await connection.getLatestBlockhash()).lastValidBlockHeight },
  'confirmed',
);
console.log(JSON.stringify({
  label: meta.label,
  icon: meta.icon,
  signature,
  err: result.value.err,
  feePayer: transaction.feePayer.toBase58(),
  programs: transaction.instructions.map((ix) => ix.programId.toBase58()),
}));
