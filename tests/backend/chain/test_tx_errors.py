"""An unreachable RPC endpoint is a typed ``RpcUnavailable`` (502), never an untyped exception (a 500)."""

from __future__ import annotations

import socket

import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

from backend.chain import tx, txbuild
from backend.chain.tokens import memo_instruction


@pytest.fixture
def dead_rpc() -> Client:
    """A client of a port where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Client(f"http://127.0.0.1:{port}", timeout=5)


def test_send_and_confirm_names_the_rpc_as_unavailable(dead_rpc: Client) -> None:
    with pytest.raises(tx.RpcUnavailable):
        tx.send_and_confirm(dead_rpc, Keypair(), [memo_instruction("x")], commitment=Confirmed)


def test_confirm_names_the_rpc_as_unavailable(dead_rpc: Client) -> None:
    from solders.signature import Signature

    with pytest.raises(tx.RpcUnavailable):
        tx.confirm(dead_rpc, [Signature.default()], commitment=Confirmed, timeout=1)


def test_txbuild_names_the_rpc_as_unavailable(dead_rpc: Client) -> None:
    with pytest.raises(tx.RpcUnavailable) as err:
        txbuild.build(dead_rpc, [memo_instruction("x")], Keypair().pubkey(), allowed=frozenset())
    assert err.value.status_code == 502
