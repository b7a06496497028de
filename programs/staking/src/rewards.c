/*
 * rewards.c -- post_rewards_root and claim (cumulative merkle distributor).
 *
 * Merkle rules, shared byte for byte with the rewards engine (backend/chain/merkle.py):
 *   leaf   = sha256(0x00 || wallet[32] || cumulative_amount u64 LE)
 *   parent = sha256(0x01 || min(a, b) || max(a, b))   (bytewise)
 * A proof lists sibling hashes from the leaf to the root; a lone leaf is the root.
 */
#include "common.h"

/*
 * post_rewards_root(epoch: u64, root: [u8; 32], cumulative_total: u64, funding: u64)
 * accounts: rewards_authority (s), config, distributor (w), funding_source (w), rewards_vault (w), token_program
 */
uint64_t ix_post_rewards_root(Ctx *c) {
  TRY(need_accounts(c, 6));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *auth = &ka[0], *cfg = &ka[1], *dist = &ka[2], *src = &ka[3], *vault = &ka[4];
  uint64_t epoch, total, funding, src_balance, vault_balance;
  uint8_t root[32];
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u64(&r, &epoch));
  TRY(iog_read_bytes32(&r, root));
  TRY(iog_read_u64(&r, &total));
  TRY(iog_read_u64(&r, &funding));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, auth));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (!sol_pubkey_eq(auth->key, KEY_AT(cfg, CONFIG_OFF_REWARDS_AUTHORITY)))
    return fail_keys(c, auth, ERR_UNAUTHORIZED, KEY_AT(cfg, CONFIG_OFF_REWARDS_AUTHORITY));
  if (p.paused) return ERR_PAUSED;
  TRY(load_distributor(c, dist));
  TRY(need_writable(c, dist));
  TRY(need_writable(c, src));
  TRY(need_writable(c, vault));
  TRY(need_token_program(c, &ka[5]));
  TRY(need_distinct(c, src, vault));
  TRY(need_vault(c, vault, cfg, CONFIG_OFF_REWARDS_VAULT));
  const SolPubkey *mint = KEY_AT(cfg, CONFIG_OFF_IO_MINT);
  TRY(check_token_account(c, src, mint, auth->key, &src_balance));
  TRY(check_token_account(c, vault, mint, NULL, &vault_balance));

  uint64_t posted = LD64(dist, DISTRIBUTOR_OFF_ROOTS_POSTED), prev_total = LD64(dist, DISTRIBUTOR_OFF_CUMULATIVE_TOTAL);
  if (posted > 0 && epoch <= LD64(dist, DISTRIBUTOR_OFF_LATEST_EPOCH))
    return fail_values(c, ERR_EPOCH_NOT_INCREASING, epoch, LD64(dist, DISTRIBUTOR_OFF_LATEST_EPOCH));
  if (total < prev_total) return fail_values(c, ERR_CUMULATIVE_TOTAL_DECREASED, total, prev_total);
  if (total - prev_total > p.max_epoch_rewards)
    return fail_values(c, ERR_EPOCH_REWARDS_CAP_EXCEEDED, total - prev_total, p.max_epoch_rewards);
  if (funding > src_balance) return fail_values(c, ERR_INSUFFICIENT_FUNDS, funding, src_balance);
  uint64_t vault_after, owed, count;
  TRY(add64(vault_balance, funding, &vault_after));
  TRY(sub64(total, LD64(dist, DISTRIBUTOR_OFF_TOTAL_CLAIMED), &owed));
  if (vault_after < owed) return fail_values(c, ERR_VAULT_UNDERFUNDED, vault_after, owed);
  TRY(add64(posted, 1, &count));
  TRY(transfer(src, vault, auth, &ka[5], funding, NULL));
  ST64(dist, DISTRIBUTOR_OFF_LATEST_EPOCH, epoch);
  ST64(dist, DISTRIBUTOR_OFF_CUMULATIVE_TOTAL, total);
  ST64(dist, DISTRIBUTOR_OFF_ROOTS_POSTED, count);
  sol_memcpy(dist->data + DISTRIBUTOR_OFF_LATEST_ROOT, root, 32);

  uint8_t body[8 + 32 + 8 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_u64(&w, epoch);
  iog_write_bytes32(&w, root);
  iog_write_u64(&w, total);
  iog_write_u64(&w, funding);
  emit_event(EV_REWARDS_ROOT_POSTED, body, w.pos);
  return 0;
}

/* Folds a proof into the leaf of (wallet, amount); true when it reaches `root`. */
static bool verify_proof(const SolPubkey *wallet, uint64_t amount, const uint8_t *proof, uint32_t n,
                         const uint8_t *root) {
  uint8_t node[32], prefix[1] = {0}, amount_le[8];
  iog_store_u64(amount_le, amount);
  SolBytes leaf[3] = {{prefix, 1}, {wallet->x, 32}, {amount_le, 8}};
  sol_sha256(leaf, 3, node);
  uint8_t one[1] = {1};
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *sib = proof + (uint64_t)i * 32;
    bool node_first = sol_memcmp(node, sib, 32) <= 0;
    SolBytes parts[3] = {{one, 1}, {node_first ? node : sib, 32}, {node_first ? sib : node, 32}};
    sol_sha256(parts, 3, node);
  }
  return sol_memcmp(node, root, 32) == 0;
}

/*
 * claim(cumulative_amount: u64, proof: Vec<[u8; 32]>)
 * accounts: wallet (w, s), config, distributor (w), claim_status (w), wallet_token (w), rewards_vault (w),
 *           vault_authority, token_program, system_program
 */
uint64_t ix_claim(Ctx *c) {
  TRY(need_accounts(c, 9));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *wallet = &ka[0], *cfg = &ka[1], *dist = &ka[2], *status = &ka[3], *dst = &ka[4], *vault = &ka[5];
  uint64_t amount;
  const uint8_t *proof;
  uint32_t n;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u64(&r, &amount));
  {
    uint32_t declared;
    IogReader peek = r;
    TRY(iog_read_u32(&peek, &declared));
    if (declared > MAX_PROOF_LEN) return fail_values(c, ERR_PROOF_TOO_LONG, declared, MAX_PROOF_LEN);
  }
  TRY(iog_read_vec_bytes32(&r, &proof, &n, MAX_PROOF_LEN));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, wallet));
  TRY(need_writable(c, wallet));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (p.paused) return ERR_PAUSED;
  TRY(load_distributor(c, dist));
  TRY(need_writable(c, dist));
  TRY(need_writable(c, status));
  TRY(need_writable(c, dst));
  TRY(need_writable(c, vault));
  TRY(need_token_program(c, &ka[7]));
  TRY(need_system_program(c, &ka[8]));
  TRY(need_distinct(c, dst, vault));
  TRY(need_vault(c, vault, cfg, CONFIG_OFF_REWARDS_VAULT));
  TRY(check_vault_authority(c, cfg, &ka[6]));
  TRY(check_token_account(c, dst, KEY_AT(cfg, CONFIG_OFF_IO_MINT), wallet->key, NULL));
  if (LD64(dist, DISTRIBUTOR_OFF_ROOTS_POSTED) == 0) return ERR_INVALID_PROOF;
  if (!verify_proof(wallet->key, amount, proof, n, dist->data + DISTRIBUTOR_OFF_LATEST_ROOT)) return ERR_INVALID_PROOF;

  uint64_t claimed = 0;
  bool exists = sol_pubkey_eq(status->owner, c->program_id);
  uint8_t bump = 0;
  Seeds seeds = SEEDS("claim", wallet->key, NULL);
  if (exists) {
    TRY(load_account(c, status, DISC_CLAIM_STATUS, CLAIM_STATUS_LEN));
    if (!sol_pubkey_eq(KEY_AT(status, CLAIM_STATUS_OFF_WALLET), wallet->key)) return fail_at(c, status, ERR_INVALID_PDA);
    TRY(check_pda(c, status, &seeds, status->data[CLAIM_STATUS_OFF_BUMP]));
    claimed = LD64(status, CLAIM_STATUS_OFF_CLAIMED);
  } else {
    TRY(find_pda(c, status, &seeds, &bump));
  }
  if (amount <= claimed) return fail_values(c, ERR_NOTHING_TO_CLAIM, amount, claimed);
  uint64_t pay = amount - claimed, total_claimed;
  TRY(add64(LD64(dist, DISTRIBUTOR_OFF_TOTAL_CLAIMED), pay, &total_claimed));
  if (total_claimed > LD64(dist, DISTRIBUTOR_OFF_CUMULATIVE_TOTAL))
    return fail_values(c, ERR_VAULT_UNDERFUNDED, total_claimed, LD64(dist, DISTRIBUTOR_OFF_CUMULATIVE_TOTAL));
  if (!exists) {
    NewAccount new_status = {wallet, status, &ka[8], CLAIM_STATUS_LEN, seeds, bump};
    TRY(create_pda(c, &new_status));
    iog_store_u64(status->data, DISC_CLAIM_STATUS);
    sol_pubkey_copy((SolPubkey *)(status->data + CLAIM_STATUS_OFF_WALLET), wallet->key);
    status->data[CLAIM_STATUS_OFF_BUMP] = bump;
  }
  TRY(transfer(vault, dst, &ka[6], &ka[7], pay, &cfg->data[CONFIG_OFF_VAULT_AUTHORITY_BUMP]));
  ST64(status, CLAIM_STATUS_OFF_CLAIMED, amount);
  ST64(dist, DISTRIBUTOR_OFF_TOTAL_CLAIMED, total_claimed);

  uint8_t body[32 + 8 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, wallet->key);
  iog_write_u64(&w, pay);
  iog_write_u64(&w, amount);
  emit_event(EV_CLAIMED, body, w.pos);
  return 0;
}
