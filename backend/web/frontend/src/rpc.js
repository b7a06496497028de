// The Solana JSON-RPC the server named for browsers (IOG_WEB_RPC_URL, default IOG_RPC_URL): send a signed
// transaction and follow it until finalized.
import { config } from './config.js';
import { b64encode } from './b58.js';

export class RpcError extends Error {
  constructor(message, data = null) {
    super(message);
    this.data = data;
  }
}

let nextId = 1;
export async function rpc(method, params = []) {
  let res;
  try {
    res = await fetch(config.rpc_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
  } catch (e) {
    throw new RpcError(`the Solana RPC at ${config.rpc_url} did not answer (${e.message})`);
  }
  const body = await res.json().catch(() => null);
  if (!body) throw new RpcError(`the Solana RPC answered HTTP ${res.status}`);
  if (body.error) throw new RpcError(explain(body.error.data?.err) ?? body.error.message, body.error.data);
  return body.result;
}

/** A transaction error as the program's error name when it is one of ours ({InstructionError: [i, {Custom}]}). */
export function explain(err) {
  if (!err) return null;
  const ie = err.InstructionError;
  if (Array.isArray(ie) && ie[1] && typeof ie[1] === 'object' && 'Custom' in ie[1]) {
    const name = config.program_errors[String(ie[1].Custom)];
    if (name) return `${name} (instruction ${ie[0]}, error ${ie[1].Custom})`;
  }
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** Send signed transaction bytes (preflight at confirmed); the signature. */
export function sendRaw(bytes) {
  return rpc('sendTransaction', [b64encode(bytes), { encoding: 'base64', preflightCommitment: 'confirmed' }]);
}

const RANK = { processed: 0, confirmed: 1, finalized: 2 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follow ``signature`` until finalized; ``onStatus(level)`` on each new level. Throws on an executed error,
 * on expiry (the block height passed ``lastValidBlockHeight`` with the transaction nowhere), or after ``timeoutMs``.
 */
export async function follow(signature, { lastValidBlockHeight = null, onStatus = () => {}, timeoutMs = 120000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let shown = -1;
  for (let i = 0; Date.now() < deadline; i += 1) {
    const { value } = await rpc('getSignatureStatuses', [[signature], { searchTransactionHistory: true }]);
    const st = value[0];
    if (st?.err) throw new RpcError(`the transaction failed: ${explain(st.err)}`);
    const level = st ? RANK[st.confirmationStatus] ?? 0 : -1;
    if (level > shown) {
      shown = level;
      onStatus(st.confirmationStatus, st.slot);
    }
    if (level >= RANK.finalized) return st;
    if (!st && lastValidBlockHeight !== null && i % 4 === 3) {
      const height = await rpc('getBlockHeight', [{ commitment: 'confirmed' }]);
      if (height > lastValidBlockHeight) throw new RpcError('the transaction expired before it landed; try again');
    }
    await sleep(500);
  }
  throw new RpcError('the transaction was not finalized in time; it may still land');
}
