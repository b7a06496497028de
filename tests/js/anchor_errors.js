// Calls the staking program through the official Anchor TypeScript client (@coral-xyz/anchor 0.29) and reports
// how the client translated each failure: `program.methods.<ix>(...).accounts(...).rpc()` must reject with an
// AnchorError carrying the IDL error's name (read from the program's "AnchorError ..." log line).
//
// Usage: node anchor_errors.js '<json>' where json is
//   {rpc, ws, idl, programId, payer (keypair path), calls: [{label, method, args: [...], accounts: {...}}]}
// with args as decimal strings (u64 -> BN) or numbers. Prints {<label>: {...outcome}} as JSON.
import fs from "node:fs";
import anchor from "@coral-xyz/anchor";

const { AnchorError, AnchorProvider, BN, Program, Wallet, web3 } = anchor;

function keypair(path) {
  return web3.Keypair.fromSecretKey(Uint8Array.from(JSON.parse(fs.readFileSync(path, "utf8"))));
}

function outcome(err) {
  if (!(err instanceof AnchorError)) {
    return { isAnchorError: false, type: err?.constructor?.name ?? typeof err, message: String(err?.message ?? err) };
  }
  const compared = err.error.comparedValues;
  return {
    isAnchorError: true,
    type: err.constructor.name,
    code: err.error.errorCode.code,
    number: err.error.errorCode.number,
    errorMessage: err.error.errorMessage,
    origin: err.error.origin ?? null,
    comparedValues: compared ? compared.map((v) => v.toString()) : null,
    program: err.program ? err.program.toBase58() : null,
  };
}

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  // The node's PubSub port is not the RPC port + 1 that web3.js guesses; confirmations subscribe there.
  const connection = new web3.Connection(cfg.rpc, { commitment: "confirmed", wsEndpoint: cfg.ws });
  const payer = keypair(cfg.payer);
  const provider = new AnchorProvider(connection, new Wallet(payer), { commitment: "confirmed" });
  const idl = JSON.parse(fs.readFileSync(cfg.idl, "utf8"));
  const program = new Program(idl, new web3.PublicKey(cfg.programId), provider);
  const out = {};
  for (const call of cfg.calls) {
    const args = call.args.map((a) => (typeof a === "string" ? new BN(a) : a));
    const accounts = Object.fromEntries(
      Object.entries(call.accounts).map(([k, v]) => [k, new web3.PublicKey(v)]),
    );
    try {
      const sig = await program.methods[call.method](...args).accounts(accounts).rpc();
      out[call.label] = { ok: true, signature: sig };
    } catch (err) {
      out[call.label] = { ok: false, ...outcome(err) };
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().then(
  () => process.exit(0), // web3.js keeps its websocket open
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);

