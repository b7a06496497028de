// Calls the block, fee, supply, token and cluster methods through @solana/web3.js's Connection, as wallets and
// dApps do. web3.js checks every answer against its own schema (superstruct), so a shape it rejects throws.
//
//   node rpc_methods.mjs <rpc url> '{"slot": <confirmed slot of sig>, "sig": "...", "mint": "...",
//                                   "written": "<an account sig wrote>"}'
//
// Prints one JSON document with what the test asserts on.
import { Connection, PublicKey } from '@solana/web3.js';

const [url, raw] = process.argv.slice(2);
const args = JSON.parse(raw);
const conn = new Connection(url, 'confirmed');
const opts = { commitment: 'confirmed', maxSupportedTransactionVersion: 0 };

const block = await conn.getBlock(args.slot, opts);
const parsed = await conn.getParsedBlock(args.slot, opts);
// web3.js reads transactionDetails "signatures" through getBlockSignatures (getBlock expects transactions)
const signaturesOnly = await conn.getBlockSignatures(args.slot, 'confirmed');
const accountsOnly = await conn.getBlock(args.slot, { ...opts, transactionDetails: 'accounts' });
const none = await conn.getBlock(args.slot, { ...opts, transactionDetails: 'none' });
const mine = block.transactions.find((t) => t.transaction.signatures[0] === args.sig);
const mineParsed = parsed.transactions.find((t) => t.transaction.signatures[0] === args.sig);

const fees = await conn.getRecentPrioritizationFees({ lockedWritableAccounts: [new PublicKey(args.written)] });
const schedule = await conn.getEpochSchedule();
const supply = await conn.getSupply({ commitment: 'confirmed', excludeNonCirculatingAccountsList: true });
const holders = await conn.getTokenLargestAccounts(new PublicKey(args.mint));
const votes = await conn.getVoteAccounts();
const nodes = await conn.getClusterNodes();
const identity = (await conn._rpcRequest('getIdentity', [])).result.identity;

// more of the methods the node now answers, each validated by web3.js
const blocks = await conn.getBlocks(Math.max(0, args.slot - 2), args.slot);
const production = await conn.getBlockProduction();
const leaders = await conn.getSlotLeaders(args.slot, 2);
const leader = await conn.getSlotLeader();
const leaderSchedule = await conn.getLeaderSchedule();
const txCount = await conn.getTransactionCount();
const firstBlock = await conn.getFirstAvailableBlock();
const inflation = await conn.getInflationRate();
const largest = await conn.getLargestAccounts();
const samples = await conn.getRecentPerformanceSamples(3);
const stakeMin = await conn.getStakeMinimumDelegation();

console.log(
  JSON.stringify({
    block: {
      blockhash: block.blockhash,
      previousBlockhash: block.previousBlockhash,
      parentSlot: block.parentSlot,
      blockHeight: block.blockHeight,
      blockTime: block.blockTime,
      found: mine !== undefined,
      fee: mine?.meta.fee,
      version: mine?.version,
      accountKeys: mine?.transaction.message.staticAccountKeys.map((k) => k.toBase58()),
    },
    // the compute-budget instruction comes first and stays unparsed, as on a validator
    parsed: mineParsed?.transaction.message.instructions.map((ix) => [ix.programId.toBase58(), ix.parsed?.type ?? null]),
    signatures: signaturesOnly.signatures,
    signaturesHasRewards: 'rewards' in signaturesOnly && signaturesOnly.rewards !== undefined,
    accountsMode: accountsOnly.transactions.map((t) => t.transaction.signatures[0]),
    noneHasTransactions: 'transactions' in none,
    fees,
    schedule: {
      slotsPerEpoch: schedule.slotsPerEpoch,
      warmup: schedule.warmup,
      firstNormalSlot: schedule.firstNormalSlot,
    },
    supply: {
      total: String(supply.value.total),
      circulating: String(supply.value.circulating),
      nonCirculating: supply.value.nonCirculating,
      accounts: supply.value.nonCirculatingAccounts.length,
    },
    holders: holders.value.map((h) => ({ address: h.address.toBase58(), amount: h.amount, decimals: h.decimals })),
    votes: { current: votes.current.length, delinquent: votes.delinquent.length },
    nodes: nodes.map((n) => ({ pubkey: n.pubkey, rpc: n.rpc, version: n.version })),
    identity,
    blocks,
    production: { byIdentity: production.value.byIdentity, range: production.value.range },
    leaders: leaders.map((k) => k.toBase58()),
    leader,
    leaderScheduleSlots: Object.fromEntries(Object.entries(leaderSchedule).map(([k, v]) => [k, v.length])),
    txCount,
    firstBlock,
    inflation,
    largest: largest.value.length,
    samples: samples.length,
    stakeMin: stakeMin.value,
  }),
);
