"""Cluster-state methods: epoch schedule, supply and largest accounts, inflation, stake minimum, leaders, block
production, cluster nodes and vote accounts, with the values of a one-node cluster on the embedded node."""

from __future__ import annotations

import struct
from urllib.parse import urlparse

import httpx
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Processed
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetBlockProductionResp,
    GetClusterNodesResp,
    GetEpochScheduleResp,
    GetHighestSnapshotSlotResp,
    GetInflationRateResp,
    GetLargestAccountsResp,
    GetLeaderScheduleResp,
    GetMaxRetransmitSlotResp,
    GetMaxShredInsertSlotResp,
    GetSlotLeadersResp,
    GetSupplyResp,
    GetVoteAccountsResp,
)
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction

from tests.localnet.conftest import NodeUnderTest
from tests.localnet.helpers import funded, pay, raw_rpc, typed, wait_status

VOTE_PROGRAM = Pubkey.from_string("Vote111111111111111111111111111111111111111")
VOTE_STATE_SIZE = 3762  # VoteState::size_of()


class TestEpochsAndEconomics:
    async def test_epoch_schedule_inflation_and_stake_minimum(self, node: NodeUnderTest) -> None:
        url = node.rpc_url
        schedule = typed(url, GetEpochScheduleResp, "getEpochSchedule")
        async with AsyncClient(url) as c:
            info = (await c.get_epoch_info()).value
        assert info.slots_in_epoch == schedule.slots_per_epoch or schedule.warmup
        rate = typed(url, GetInflationRateResp, "getInflationRate")
        assert rate.epoch == info.epoch and 0 <= rate.validator <= rate.total
        minimum = raw_rpc(url, "getStakeMinimumDelegation", [{"commitment": "confirmed"}])["result"]
        assert minimum["value"] >= 1 and minimum["context"]["slot"] >= 0
        if node.engine == "embedded":
            assert (schedule.slots_per_epoch, schedule.warmup, schedule.first_normal_slot) == (432_000, False, 0)
            assert (rate.total, rate.validator, rate.foundation) == (0.0, 0.0, 0.0)  # no rewards are paid here
            assert minimum["value"] == 1  # stake_raise_minimum_delegation_to_1_sol is not active
        assert raw_rpc(url, "getStakeMinimumDelegation", [{"commitment": 1}])["error"]["code"] == -32602

    async def test_supply_moves_only_by_burnt_fees(self, node: NodeUnderTest) -> None:
        url = node.rpc_url
        supply = typed(url, GetSupplyResp, "getSupply", [{"commitment": "processed"}])
        assert supply.total == supply.circulating + supply.non_circulating
        listed = typed(url, GetSupplyResp, "getSupply", [{"excludeNonCirculatingAccountsList": True}])
        assert listed.non_circulating_accounts == []
        largest = typed(url, GetLargestAccountsResp, "getLargestAccounts", [{"commitment": "processed"}])
        lamports = [a.lamports for a in largest]
        assert 0 < len(largest) <= 20 and lamports == sorted(lamports, reverse=True)
        assert lamports[0] <= supply.total
        if node.engine != "embedded":
            return  # a validator's supply also moves by rewards and its own votes' fees
        assert supply.non_circulating == 0
        assert typed(url, GetLargestAccountsResp, "getLargestAccounts", [{"filter": "nonCirculating"}]) == []
        async with AsyncClient(url) as c:
            kp = await funded(c)
            after_airdrop = typed(url, GetSupplyResp, "getSupply", [{"commitment": "processed"}]).total
            assert after_airdrop == supply.total - 5000  # the faucet's fee is burnt; the lamports only moved
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            sig = (await c.send_transaction(pay(kp, Keypair().pubkey(), 10**6, bh))).value
            await wait_status(c, sig, "confirmed")
        total = typed(url, GetSupplyResp, "getSupply", [{"commitment": "confirmed"}]).total
        assert total == after_airdrop - 5000
        top = typed(url, GetLargestAccountsResp, "getLargestAccounts", [{"filter": "circulating"}])
        assert top[0].lamports >= 10**9
        assert raw_rpc(url, "getLargestAccounts", [{"filter": "rich"}])["error"]["code"] == -32602


class TestLeadersAndProduction:
    async def test_one_leader_produces_every_block(self, node: NodeUnderTest) -> None:
        url = node.rpc_url
        async with AsyncClient(url) as c:
            identity = str((await c.get_identity()).value.identity)
            leader = (await c.get_slot_leader(Processed)).value
            slot = (await c.get_slot(Confirmed)).value
        assert str(leader) == identity
        assert [str(k) for k in typed(url, GetSlotLeadersResp, "getSlotLeaders", [slot, 3])] == [identity] * 3
        assert raw_rpc(url, "getSlotLeaders", [slot, 5001])["error"]["code"] == -32602
        assert raw_rpc(url, "getSlotLeaders", [10**12, 2])["error"]["code"] == -32602  # schedule not known yet

        schedule = typed(url, GetLeaderScheduleResp, "getLeaderSchedule", [None, {"commitment": "confirmed"}])
        assert identity in {str(k) for k in schedule}
        assert raw_rpc(url, "getLeaderSchedule", [{"identity": str(Keypair().pubkey())}])["result"] == {}
        assert raw_rpc(url, "getLeaderSchedule", [10**12])["result"] is None
        assert raw_rpc(url, "getLeaderSchedule", [{"identity": "nope"}])["error"]["code"] == -32602

        production = typed(url, GetBlockProductionResp, "getBlockProduction", [{"commitment": "confirmed"}])
        first, last = production.range.first_slot, production.range.last_slot
        leader_slots, produced = production.by_identity[Pubkey.from_string(identity)]
        assert first <= last and produced <= leader_slots <= last - first + 1
        await node.step(2)  # slot 2 exists (a loaded machine may not have got there yet)
        ranged_cfg = {"range": {"firstSlot": 0, "lastSlot": 2}, "commitment": "processed"}
        ranged = raw_rpc(url, "getBlockProduction", [ranged_cfg])["result"]
        assert ranged["value"]["range"] == {"firstSlot": 0, "lastSlot": 2}
        if node.engine == "embedded":
            assert [leader_slots, produced] == [last - first + 1] * 2
            assert len(schedule[Pubkey.from_string(identity)]) == 432_000
            assert ranged["value"]["byIdentity"] == {identity: [3, 3]}
            other = raw_rpc(url, "getBlockProduction", [{"identity": str(Keypair().pubkey())}])["result"]
            assert other["value"]["byIdentity"] == {}
        for bad in ({"range": {"firstSlot": 5, "lastSlot": 2}}, {"range": {"firstSlot": 0, "lastSlot": 10**12}}):
            assert raw_rpc(url, "getBlockProduction", [bad])["error"]["code"] == -32602, bad

        for resp, method in (
            (GetMaxRetransmitSlotResp, "getMaxRetransmitSlot"),
            (GetMaxShredInsertSlotResp, "getMaxShredInsertSlot"),
        ):
            assert typed(url, resp, method) >= slot
        snapshot = GetHighestSnapshotSlotResp.from_json(
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHighestSnapshotSlot"}).text
        )
        if node.engine == "embedded":  # the ledger file is no snapshot archive: a validator's NoSnapshot error
            assert "NoSnapshot" in str(snapshot)


class TestNodesAndVotes:
    async def test_cluster_nodes_name_this_node(self, node: NodeUnderTest) -> None:
        url = node.rpc_url
        typed(url, GetClusterNodesResp, "getClusterNodes")  # solders accepts the shape; values from the JSON
        nodes = raw_rpc(url, "getClusterNodes")["result"]
        async with AsyncClient(url) as c:
            identity = str((await c.get_identity()).value.identity)
            version = (await c.get_version()).value.solana_core
        me = [n for n in nodes if n["pubkey"] == identity]
        assert len(me) == 1 and me[0]["version"] == version
        if node.engine == "embedded":
            u = urlparse(url)
            assert len(nodes) == 1 and me[0]["rpc"] == f"{u.hostname}:{u.port}"
            assert me[0]["gossip"] is None and me[0]["tpu"] is None  # no gossip or TPU sockets on this node
            assert 0 < me[0]["shredVersion"] <= 0xFFFF

    async def test_vote_account_created_by_a_transaction_is_listed_as_it_is(self, node: NodeUnderTest) -> None:
        url = node.rpc_url
        async with AsyncClient(url) as c:
            payer = await funded(c, 10 * 10**9)
            vote, validator = Keypair(), Keypair()
            rent = (await c.get_minimum_balance_for_rent_exemption(VOTE_STATE_SIZE)).value
            create = create_account(
                CreateAccountParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=vote.pubkey(),
                    lamports=rent,
                    space=VOTE_STATE_SIZE,
                    owner=VOTE_PROGRAM,
                )
            )
            # VoteInstruction::InitializeAccount(VoteInit {node, authorized voter, authorized withdrawer, commission})
            data = struct.pack("<I", 0) + bytes(validator.pubkey()) + bytes(payer.pubkey()) * 2 + bytes([7])
            init = Instruction(
                VOTE_PROGRAM,
                data,
                [
                    AccountMeta(vote.pubkey(), False, True),
                    AccountMeta(RENT, False, False),
                    AccountMeta(CLOCK, False, False),
                    AccountMeta(validator.pubkey(), True, False),
                ],
            )
            bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
            tx = Transaction([payer, vote, validator], Message([create, init], payer.pubkey()), bh)
            await wait_status(c, (await c.send_transaction(tx)).value, "confirmed")

        everyone = typed(url, GetVoteAccountsResp, "getVoteAccounts", [{"commitment": "confirmed"}])
        listed = {str(v.vote_pubkey) for v in everyone.current + everyone.delinquent}
        assert str(vote.pubkey()) not in listed  # unstaked and never voted: a delinquent left out by default
        if node.engine == "embedded":
            assert everyone.current == [] and everyone.delinquent == []  # no vote account of its own
        mine = typed(
            url,
            GetVoteAccountsResp,
            "getVoteAccounts",
            [{"commitment": "confirmed", "votePubkey": str(vote.pubkey()), "keepUnstakedDelinquents": True}],
        )
        assert mine.current == [] and len(mine.delinquent) == 1
        info = mine.delinquent[0]
        assert (str(info.node_pubkey), info.commission, info.last_vote, info.activated_stake) == (
            str(validator.pubkey()),
            7,
            0,
            0,
        )
        assert raw_rpc(url, "getVoteAccounts", [{"votePubkey": "nope"}])["error"]["code"] == -32602
