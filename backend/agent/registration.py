"""The node key's part of the two-signer ``register_node`` flow.

``register_node`` needs two signatures: the node's device key (proving the operator controls the machine) and
the operator's wallet (fee payer). The API builds the transaction; the node machine checks exactly what it is
asked to sign and adds its partial signature; then the operator's wallet signs and sends it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from backend.chain import ids
from backend.errors import InvalidInput

REGISTER_NODE = hashlib.sha256(b"global:register_node").digest()[:8]


def sign_registration(tx_b64: str, node_key: Keypair, program_id: Pubkey) -> str:
    """Check that ``tx_b64`` only registers this node key with ``program_id`` and add the node key's signature.

    Refused (``InvalidInput``, nothing signed): anything that is not a transaction, an instruction of another
    program (besides the compute budget), more than one staking instruction or one other than register_node,
    a register_node for another node key, a transaction where the node key pays the fee.
    """
    try:
        txn = Transaction.from_bytes(base64.b64decode(tx_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"--tx is not a base64 Solana transaction: {exc}") from None
    msg = txn.message
    keys = msg.account_keys
    me = node_key.pubkey()
    if keys[0] == me:
        raise InvalidInput("the node key must not pay the fee: the operator's wallet is the fee payer")
    staking = []
    for ix in msg.instructions:
        program = keys[ix.program_id_index]
        if program == ids.COMPUTE_BUDGET_PROGRAM_ID:
            continue
        if program != program_id:
            raise InvalidInput(f"the transaction calls {program}: a node key signs only its registration")
        staking.append(ix)
    if len(staking) != 1 or bytes(staking[0].data[:8]) != REGISTER_NODE:
        raise InvalidInput("the transaction must hold exactly one register_node instruction of the staking program")
    ix = staking[0]
    # register_node accounts: operator, node_key, config, node, system_program (IDL order).
    if len(ix.accounts) < 2 or keys[ix.accounts[1]] != me:
        raise InvalidInput(f"this register_node is for node key {keys[ix.accounts[1]]}, not {me}")
    signer_positions = range(msg.header.num_required_signatures)
    if me not in [keys[i] for i in signer_positions]:
        raise InvalidInput("the node key is not a required signer of this transaction")
    txn.partial_sign([node_key], msg.recent_blockhash)
    return base64.b64encode(bytes(txn)).decode()
