"""The node key signs only its own registration (the two-signer register_node flow)."""

from __future__ import annotations

import base64

import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from backend.agent.registration import sign_registration
from backend.chain.staking import StakingClient
from backend.errors import InvalidInput

SC = StakingClient()
OPERATOR, NODE = Keypair(), Keypair()


def unsigned(instructions: list[Instruction], payer: Keypair = OPERATOR) -> str:
    msg = Message.new_with_blockhash(instructions, payer.pubkey(), Hash.new_unique())
    return base64.b64encode(bytes(Transaction.new_unsigned(msg))).decode()


def register(node: Keypair = NODE) -> Instruction:
    return SC.register_node(OPERATOR.pubkey(), node.pubkey(), 8, 500)


def test_the_node_key_signs_its_registration_and_leaves_the_operators_signature_empty() -> None:
    signed = Transaction.from_bytes(base64.b64decode(sign_registration(unsigned([register()]), NODE, SC.program_id)))
    keys = signed.message.account_keys
    by_key = dict(zip(keys[: signed.message.header.num_required_signatures], signed.signatures, strict=True))
    assert by_key[NODE.pubkey()].verify(NODE.pubkey(), bytes(signed.message_data()))
    assert bytes(by_key[OPERATOR.pubkey()]) == bytes(64)
    # the operator's wallet then completes it
    signed.partial_sign([OPERATOR], signed.message.recent_blockhash)
    assert signed.verify_with_results() == [True, True]


@pytest.mark.parametrize(
    ("instructions", "payer", "match"),
    [
        ([register(Keypair())], OPERATOR, "is for node key"),
        (
            [register(), transfer(TransferParams(from_pubkey=NODE.pubkey(), to_pubkey=OPERATOR.pubkey(), lamports=1))],
            OPERATOR,
            "calls 11111111111111111111111111111111",
        ),
        ([register(), register()], OPERATOR, "exactly one register_node"),
        ([SC.deactivate_node(OPERATOR.pubkey(), SC.node(NODE.pubkey()))], OPERATOR, "exactly one register_node"),
        ([register()], NODE, "must not pay the fee"),
    ],
)
def test_anything_else_is_refused(instructions: list[Instruction], payer: Keypair, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        sign_registration(unsigned(instructions, payer), NODE, SC.program_id)


def test_another_program_id_and_garbage_are_refused() -> None:
    with pytest.raises(InvalidInput, match="calls"):
        sign_registration(unsigned([register()]), NODE, Keypair().pubkey())
    with pytest.raises(InvalidInput, match="not a base64"):
        sign_registration("%%%", NODE, SC.program_id)
    with pytest.raises(InvalidInput, match="not a base64"):
        sign_registration(base64.b64encode(b"\x01garbage").decode(), NODE, SC.program_id)
