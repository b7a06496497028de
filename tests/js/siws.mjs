// Sign-In With Solana with the Wallet Standard's own helpers (@solana/wallet-standard-util):
// argv[2] = JSON {input: SolanaSignInInput, message: text the server issued, signature: base58, publicKey: base58}
// prints {created: createSignInMessageText(input), parsed: parseSignInMessage(message), verified: verifySignIn(...)}
import { createSignInMessageText, parseSignInMessage, verifySignIn } from '@solana/wallet-standard-util';
import { PublicKey } from '@solana/web3.js';
import bs58 from 'bs58';

const arg = JSON.parse(process.argv[2]);
const out = { created: createSignInMessageText(arg.input) };
if (arg.message) {
  const signedMessage = new TextEncoder().encode(arg.message);
  out.parsed = parseSignInMessage(signedMessage);
  if (arg.signature) {
    const publicKey = new PublicKey(arg.publicKey).toBytes();
    out.verified = verifySignIn(arg.input, {
      account: { address: arg.publicKey, publicKey, chains: [], features: [] },
      signedMessage,
      signature: bs58.decode(arg.signature),
    });
  }
}
console.log(JSON.stringify(out));
