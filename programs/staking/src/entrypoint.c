/* entrypoint.c -- parses the input, dispatches on the Anchor instruction discriminator, logs a custom error. */
#include "common.h"

/* Runs the handler of the instruction in c->p (setting c->ix first, for the error log's account names). */
static uint64_t dispatch(Ctx *c) {
  switch (iog_load_u64(c->p->data)) {
    case IX_INITIALIZE: c->ix = IXI_INITIALIZE; return ix_initialize(c);
    case IX_UPDATE_CONFIG: c->ix = IXI_UPDATE_CONFIG; return ix_update_config(c);
    case IX_REGISTER_NODE: c->ix = IXI_REGISTER_NODE; return ix_register_node(c);
    case IX_STAKE: c->ix = IXI_STAKE; return ix_stake(c);
    case IX_REQUEST_UNSTAKE: c->ix = IXI_REQUEST_UNSTAKE; return ix_request_unstake(c);
    case IX_WITHDRAW: c->ix = IXI_WITHDRAW; return ix_withdraw(c);
    case IX_SET_COMMISSION: c->ix = IXI_SET_COMMISSION; return ix_set_commission(c);
    case IX_POST_REWARDS_ROOT: c->ix = IXI_POST_REWARDS_ROOT; return ix_post_rewards_root(c);
    case IX_CLAIM: c->ix = IXI_CLAIM; return ix_claim(c);
    case IX_SLASH: c->ix = IXI_SLASH; return ix_slash(c);
    case IX_DEACTIVATE_NODE: c->ix = IXI_DEACTIVATE_NODE; return ix_deactivate_node(c);
    default: return ERR_INVALID_INSTRUCTION;
  }
}

uint64_t entrypoint(const uint8_t *input) {
  SolParameters *params;
  Ctx c = {0};
  c.ix = IX_COUNT;
  uint64_t err;
  if (iog_params_on_heap(input, &params)) {
    err = ERR_INVALID_INSTRUCTION;
  } else {
    c.p = params;
    c.program_id = params->program_id;
    if (params->data_len < 8) {
      err = ERR_INVALID_INSTRUCTION;
    } else {
      c.args = params->data + 8;
      c.args_len = params->data_len - 8;
      err = dispatch(&c);
    }
  }
  if (err) log_error(&c, err);
  return err;
}
