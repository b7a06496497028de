/* config.c -- initialize and update_config. */
#include "common.h"

/* Emits ConfigUpdated { admin, params }. */
static void emit_config_updated(const SolPubkey *admin, const Params *p) {
  uint8_t body[32 + CONFIG_PARAMS_LEN];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), ERR_MATH_OVERFLOW);
  iog_write_pubkey(&w, admin);
  write_params(&w, p);
  emit_event(EV_CONFIG_UPDATED, body, w.pos);
}

/* Checks a vault at initialize: IO mint, owned by the vault authority, no delegate, no close authority. */
static uint64_t check_new_vault(Ctx *c, const SolAccountInfo *vault, const SolAccountInfo *mint,
                                const SolAccountInfo *va) {
  TRY(check_token_account(c, vault, mint->key, va->key, NULL));
  /* delegate COption tag at 72, close_authority COption tag at 129 */
  if (iog_load_u32(vault->data + 72) != 0 || iog_load_u32(vault->data + 129) != 0)
    return fail_at(c, vault, ERR_INVALID_TOKEN_ACCOUNT);
  return 0;
}

/* BPFLoaderUpgradeab1e11111111111111111111111 */
#define LOADER_V3_ID                                                                                          \
  {{0x02, 0xa8, 0xf6, 0x91, 0x4e, 0x88, 0xa1, 0xb0, 0xe2, 0x10, 0x15, 0x3e, 0xf7, 0x63, 0xae, 0x2b,          \
    0x00, 0xc2, 0xb9, 0x3d, 0x16, 0xc1, 0x24, 0xd2, 0xc0, 0x53, 0x7a, 0x10, 0x04, 0x80, 0x00, 0x00}}

/*
 * When the program is deployed through the upgradeable loader, only its upgrade authority may initialize it
 * (otherwise anyone could initialize a fresh deployment first with their own authorities). A program loaded
 * without an upgrade authority (loader v2: test runtimes, genesis) has no one to bind to.
 * Program account: u32 tag, programdata address. ProgramData: u32 tag, u64 slot, Option<Pubkey> authority.
 */
static uint64_t check_upgrade_authority(Ctx *c, const SolAccountInfo *program, const SolAccountInfo *pdata,
                                        const SolAccountInfo *admin) {
  SolPubkey loader = LOADER_V3_ID;
  if (!sol_pubkey_eq(program->key, c->program_id)) return fail_keys(c, program, ERR_INVALID_PROGRAM, c->program_id);
  if (!sol_pubkey_eq(program->owner, &loader)) return 0;
  if (program->data_len < 36 || !sol_pubkey_eq((const SolPubkey *)(program->data + 4), pdata->key))
    return fail_at(c, pdata, ERR_INVALID_PROGRAM);
  if (!sol_pubkey_eq(pdata->owner, &loader) || pdata->data_len < 45) return fail_at(c, pdata, ERR_INVALID_PROGRAM);
  if (pdata->data[12] != 1) return fail_at(c, admin, ERR_UNAUTHORIZED);
  if (!sol_pubkey_eq((const SolPubkey *)(pdata->data + 13), admin->key))
    return fail_keys(c, admin, ERR_UNAUTHORIZED, (const SolPubkey *)(pdata->data + 13));
  return 0;
}

/*
 * initialize(params)
 * accounts: admin (w, s), config (w), distributor (w), vault_authority, io_mint, stake_vault, rewards_vault,
 *           rewards_authority, slash_authority, slash_destination, system_program, program, program_data
 */
uint64_t ix_initialize(Ctx *c) {
  TRY(need_accounts(c, 13));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *admin = &ka[0], *cfg = &ka[1], *dist = &ka[2], *va = &ka[3], *mint = &ka[4];
  SolAccountInfo *stake_vault = &ka[5], *rewards_vault = &ka[6], *slash_dest = &ka[9], *sys = &ka[10];
  Params p;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(read_params(&r, &p));
  TRY(iog_read_end(&r));
  TRY(validate_params(c, &p));
  TRY(need_signer(c, admin));
  TRY(need_writable(c, admin));
  TRY(need_writable(c, cfg));
  TRY(need_writable(c, dist));
  TRY(need_system_program(c, sys));
  TRY(check_upgrade_authority(c, &ka[11], &ka[12], admin));
  TRY(need_distinct(c, stake_vault, rewards_vault));
  TRY(need_distinct(c, slash_dest, stake_vault));
  TRY(need_distinct(c, slash_dest, rewards_vault));
  uint8_t cfg_bump, dist_bump, va_bump;
  Seeds cfg_seeds = SEEDS("config", NULL, NULL), dist_seeds = SEEDS("distributor", NULL, NULL);
  Seeds va_seeds = SEEDS("vault_authority", NULL, NULL);
  TRY(find_pda(c, cfg, &cfg_seeds, &cfg_bump));
  TRY(find_pda(c, dist, &dist_seeds, &dist_bump));
  TRY(find_pda(c, va, &va_seeds, &va_bump));
  IogMint m;
  if (iog_mint_read(mint, &m)) return fail_at(c, mint, ERR_INVALID_MINT);
  TRY(check_new_vault(c, stake_vault, mint, va));
  TRY(check_new_vault(c, rewards_vault, mint, va));
  TRY(check_token_account(c, slash_dest, mint->key, NULL, NULL));

  NewAccount new_cfg = {admin, cfg, sys, CONFIG_LEN, cfg_seeds, cfg_bump};
  NewAccount new_dist = {admin, dist, sys, DISTRIBUTOR_LEN, dist_seeds, dist_bump};
  TRY(create_pda(c, &new_cfg));
  TRY(create_pda(c, &new_dist));

  iog_store_u64(cfg->data, DISC_CONFIG);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_ADMIN), admin->key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_REWARDS_AUTHORITY), ka[7].key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_SLASH_AUTHORITY), ka[8].key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_IO_MINT), mint->key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_SLASH_DESTINATION), slash_dest->key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_STAKE_VAULT), stake_vault->key);
  sol_pubkey_copy((SolPubkey *)(cfg->data + CONFIG_OFF_REWARDS_VAULT), rewards_vault->key);
  store_params(cfg, &p);
  cfg->data[CONFIG_OFF_BUMP] = cfg_bump;
  cfg->data[CONFIG_OFF_VAULT_AUTHORITY_BUMP] = va_bump;

  iog_store_u64(dist->data, DISC_DISTRIBUTOR);
  dist->data[DISTRIBUTOR_OFF_BUMP] = dist_bump;

  emit_config_updated(admin->key, &p);
  return 0;
}

/* update_config(params); accounts: admin (s), config (w). Allowed while paused (it is how one unpauses). */
uint64_t ix_update_config(Ctx *c) {
  TRY(need_accounts(c, 2));
  SolAccountInfo *admin = &c->p->ka[0], *cfg = &c->p->ka[1];
  Params p, old;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(read_params(&r, &p));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, admin));
  TRY(load_config(c, cfg, &old));
  TRY(need_writable(c, cfg));
  if (!sol_pubkey_eq(admin->key, KEY_AT(cfg, CONFIG_OFF_ADMIN)))
    return fail_keys(c, admin, ERR_UNAUTHORIZED, KEY_AT(cfg, CONFIG_OFF_ADMIN));
  TRY(validate_params(c, &p));
  store_params(cfg, &p);
  emit_config_updated(admin->key, &p);
  return 0;
}
