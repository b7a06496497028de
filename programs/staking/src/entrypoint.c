/* entrypoint.c -- parses the input and dispatches on the Anchor instruction discriminator. */
#include "common.h"

uint64_t entrypoint(const uint8_t *input) {
  SolParameters *params;
  if (iog_params_on_heap(input, &params)) return ERR_INVALID_INSTRUCTION;
  if (params->data_len < 8) return ERR_INVALID_INSTRUCTION;
  Ctx c = {params, params->program_id, params->data + 8, params->data_len - 8};
  switch (iog_load_u64(params->data)) {
    case IX_INITIALIZE: return ix_initialize(&c);
    case IX_UPDATE_CONFIG: return ix_update_config(&c);
    case IX_REGISTER_NODE: return ix_register_node(&c);
    case IX_STAKE: return ix_stake(&c);
    case IX_REQUEST_UNSTAKE: return ix_request_unstake(&c);
    case IX_WITHDRAW: return ix_withdraw(&c);
    case IX_SET_COMMISSION: return ix_set_commission(&c);
    case IX_POST_REWARDS_ROOT: return ix_post_rewards_root(&c);
    case IX_CLAIM: return ix_claim(&c);
    case IX_SLASH: return ix_slash(&c);
    case IX_DEACTIVATE_NODE: return ix_deactivate_node(&c);
    default: return ERR_INVALID_INSTRUCTION;
  }
}
