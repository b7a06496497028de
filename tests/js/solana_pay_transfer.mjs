// Pay with Solana Pay as a wallet does: @solana/pay's createTransfer builds the SPL transfer (it refuses a
// recipient wallet that does not exist on chain), the payer signs and sends it, then findReference and
// validateTransfer check it as a merchant's checkout does.
//
// Usage: node solana_pay_transfer.mjs '<json>' with
//   {"rpcUrl", "wsUrl", "payerKeypairPath", "recipient", "splToken", "amount" (UI units, decimal string), "reference", "memo"}
// Prints {"signature", "found", "validated", "recipientAta"} as JSON; any client error exits non-zero with its
// name and message on stderr (e.g. "CreateTransferError: recipient not found").

import { readFileSync } from 'node:fs';

import { createTransfer, findReference, validateTransfer } from '@solana/pay';
import { getAssociatedTokenAddress } from '@solana/spl-token';
import { Connection, Keypair, PublicKey, sendAndConfirmTransaction } from '@solana/web3.js';
import BigNumber from 'bignumber.js';

const args = JSON.parse(process.argv[2]);
const connection = new Connection(args.rpcUrl, { commitment: 'confirmed', wsEndpoint: args.wsUrl });
const payer = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(args.payerKeypairPath, 'utf8'))));
const recipient = new PublicKey(args.recipient);
const splToken = new PublicKey(args.splToken);
const reference = new PublicKey(args.reference);
const amount = new BigNumber(args.amount);
const fields = { recipient, splToken, amount, reference, memo: args.memo };

try {
    const transaction = await createTransfer(connection, payer.publicKey, fields, { commitment: 'confirmed' });
    const signature = await sendAndConfirmTransaction(connection, transaction, [payer], { commitment: 'confirmed' });
    const found = await findReference(connection, reference, { finality: 'confirmed' });
    await validateTransfer(connection, found.signature, fields, { commitment: 'confirmed' });
    const recipientAta = await getAssociatedTokenAddress(splToken, recipient);
    console.log(JSON.stringify({ signature, found: found.signature, validated: true, recipientAta: recipientAta.toBase58() }));
} catch (error) {
    console.error(`${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`);
    process.exit(1);
}
