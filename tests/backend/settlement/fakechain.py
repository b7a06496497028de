"""An in-memory SPL token cluster for the settlement property tests, and the indexer writing what it does.

Why a stand-in: the state machine takes thousands of steps, each needing a transaction to land and finalize; the
embedded node finalizes in hundreds of milliseconds, so the real cluster is used by the end-to-end tests and this
one here. It is faithful where settlement depends on it: it executes the exact signed transactions the treasury
sender builds (transferChecked with reference keys, burnChecked, idempotent ATA creation, memo), legacy and
version-0 messages with lookup tables, balance checks with failed transactions recorded as failed, blockhash expiry
by block height, signature statuses, and references looked up by signature. Its transactions are rendered as
``getTransaction`` JSON and go through the real indexer decoder and writer (``indexer.decode``, ``indexer.store``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import based58
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction
from sqlalchemy import Engine

from backend.chain import ids
from backend.chain.history import BalanceAt
from backend.chain.pdas import associated_token_address
from backend.chain.tx import TransactionFailed
from backend.settlement.chainport import SigStatus
from indexer.decode import DecodeContext, decode_transaction
from indexer.store import mark_synced, write_batch

WINDOW = 150


@dataclass
class Landed:
    """A transaction the cluster executed."""

    signature: str
    slot: int
    err: Any
    json: dict[str, Any]
    deltas: dict[str, int]  # token account -> change
    references: list[str]
    outflows: list[tuple[str, str, int, list[str]]] = field(default_factory=list)  # (kind, dest/mint, amount, refs)


class Crash(Exception):
    """The process died right after the cluster accepted the transaction (raised by ``send``)."""


class FakeChain:
    """The cluster: token accounts, mints, slots, signatures, references; and the indexer following it."""

    def __init__(self, engine: Engine, ctx: DecodeContext, decimals: dict[str, int]) -> None:
        self.engine = engine
        self.ctx = ctx
        self.decimals = decimals  # mint -> decimals
        self.slot = 1
        self.finalized = 0
        self.clock = 1_700_000_000
        self.balances: dict[str, int] = {}
        self.mint_of: dict[str, str] = {}
        self.owner_of: dict[str, str] = {}
        self.supply: dict[str, int] = dict.fromkeys(decimals, 0)
        self.landed: dict[str, Landed] = {}
        self.by_ref: dict[str, list[str]] = {}
        self.tables: dict[str, list[str]] = {}
        self.lose_next = 0  # transactions the cluster accepts and then drops (never land)
        self.fail_next = 0  # transactions that execute with an error
        self.crash_after_send = 0  # sends after which the sender process "dies"
        self.lost: set[str] = set()

    # --- accounts -----------------------------------------------------------------------------------------

    def open_account(self, owner: Pubkey, mint: str, amount: int = 0) -> str:
        """An owner's associated token account of ``mint`` with ``amount`` minted into it."""
        ata = str(associated_token_address(owner, Pubkey.from_string(mint)))
        if ata not in self.balances:
            self.balances[ata], self.mint_of[ata], self.owner_of[ata] = 0, mint, str(owner)
        self.balances[ata] += amount
        self.supply[mint] += amount
        return ata

    def lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        key = Keypair().pubkey()
        self.tables[str(key)] = [str(a) for a in addresses]
        return key

    # --- ChainPort --------------------------------------------------------------------------------------

    def latest_blockhash(self) -> tuple[Hash, int]:
        return Hash(secrets.token_bytes(32)), self.slot + WINDOW

    def send(self, txn: Transaction, instructions: Sequence[Instruction]) -> str:
        sig = str(txn.signatures[0])
        if sig in self.landed:
            raise TransactionFailed("the cluster refused the transaction: AlreadyProcessed", "AlreadyProcessed")
        if sig in self.lost:
            return sig
        if self.lose_next:
            self.lose_next -= 1
            self.lost.add(sig)
        else:
            self.execute(txn)
        if self.crash_after_send:
            self.crash_after_send -= 1
            raise Crash(sig)
        return sig

    def statuses(self, signatures: Sequence[str]) -> list[SigStatus | None]:
        out: list[SigStatus | None] = []
        for s in signatures:
            t = self.landed.get(s)
            out.append(
                None
                if t is None
                else SigStatus(t.slot, t.err, "finalized" if t.slot <= self.finalized else "confirmed")
            )
        return out

    def block_height(self) -> int:
        return self.finalized

    def reference_named(self, reference: str) -> bool:
        return bool(self.by_ref.get(reference))

    # --- execution --------------------------------------------------------------------------------------

    def execute(self, txn: Transaction | VersionedTransaction) -> str:
        """Execute a signed transaction at the next slot; index it at confirmed. Its signature."""
        msg = txn.message
        sig = str(txn.signatures[0])
        keys = [str(k) for k in msg.account_keys]
        loaded_w: list[str] = []
        loaded_r: list[str] = []
        if isinstance(msg, MessageV0):
            for lookup in msg.address_table_lookups:
                table = self.tables[str(lookup.account_key)]
                loaded_w += [table[i] for i in bytes(lookup.writable_indexes)]
                loaded_r += [table[i] for i in bytes(lookup.readonly_indexes)]
        every = keys + loaded_w + loaded_r
        h = msg.header
        n_sig = h.num_required_signatures
        signers = set(every[:n_sig])
        balances = dict(self.balances)
        created: dict[str, tuple[str, str]] = {}
        supply = dict(self.supply)
        err: Any = None
        refs: list[str] = []
        outflows: list[tuple[str, str, int, list[str]]] = []
        if self.fail_next:
            self.fail_next -= 1
            err = {"InstructionError": [0, {"Custom": 99}]}
        for i, ix in enumerate(msg.instructions):
            if err is not None:
                break
            program = every[ix.program_id_index]
            accts = [every[a] for a in bytes(ix.accounts)]
            data = bytes(ix.data)
            if program == str(ids.ASSOCIATED_TOKEN_PROGRAM_ID):
                ata, owner, mint = accts[1], accts[2], accts[3]
                if ata not in balances:
                    balances[ata] = 0
                    created[ata] = (mint, owner)
            elif program == str(ids.TOKEN_PROGRAM_ID) and data and data[0] == 12:  # transferChecked
                src, mint, dst, auth = accts[:4]
                amount = int.from_bytes(data[1:9], "little")
                owner = self.owner_of.get(src) or created.get(src, ("", ""))[1]
                mint_src = self.mint_of.get(src) or created.get(src, ("", ""))[0]
                mint_dst = self.mint_of.get(dst) or created.get(dst, ("", ""))[0]
                if auth not in signers or owner != auth or mint_src != mint or mint_dst != mint:
                    err = {"InstructionError": [i, {"Custom": 4}]}
                elif balances.get(src, 0) < amount or dst not in balances:
                    err = {"InstructionError": [i, {"Custom": 1}]}
                else:
                    balances[src] -= amount
                    balances[dst] += amount
                    extra = accts[4:]
                    refs += extra
                    outflows.append(("transfer", dst, amount, list(extra)))
            elif program == str(ids.TOKEN_PROGRAM_ID) and data and data[0] == 15:  # burnChecked
                acct, mint, auth = accts[:3]
                amount = int.from_bytes(data[1:9], "little")
                if auth not in signers or self.owner_of.get(acct) != auth or balances.get(acct, 0) < amount:
                    err = {"InstructionError": [i, {"Custom": 1}]}
                else:
                    balances[acct] -= amount
                    supply[mint] -= amount
                    outflows.append(("burn", mint, amount, []))
        token_accounts = [k for k in every if k in self.balances or k in created]

        def token_balances(source: dict[str, int]) -> list[dict[str, Any]]:
            out = []
            for k in token_accounts:
                if k not in source:
                    continue
                mint = self.mint_of.get(k) or created[k][0]
                owner = self.owner_of.get(k) or created[k][1]
                out.append(
                    {
                        "accountIndex": every.index(k),
                        "mint": mint,
                        "owner": owner,
                        "uiTokenAmount": {"amount": str(source[k]), "decimals": self.decimals[mint]},
                    }
                )
            return out

        pre = token_balances(self.balances)
        deltas: dict[str, int] = {}
        if err is None:
            for k, v in balances.items():
                if v != self.balances.get(k, 0):
                    deltas[k] = v - self.balances.get(k, 0)
            for k, (mint, owner) in created.items():
                self.mint_of[k], self.owner_of[k] = mint, owner
            self.balances, self.supply = balances, supply
        else:
            refs, outflows = [], []
        post = token_balances(self.balances)
        self.slot += 1
        slot = self.slot
        doc = {
            "slot": slot,
            "blockTime": self.clock,
            "version": 0 if isinstance(msg, MessageV0) else "legacy",
            "transaction": {
                "signatures": [str(s) for s in txn.signatures],
                "message": {
                    "accountKeys": keys,
                    "header": {
                        "numRequiredSignatures": h.num_required_signatures,
                        "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
                        "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
                    },
                    "instructions": [
                        {
                            "programIdIndex": ix.program_id_index,
                            "accounts": list(bytes(ix.accounts)),
                            "data": based58.b58encode(bytes(ix.data)).decode(),
                        }
                        for ix in msg.instructions
                    ],
                    "recentBlockhash": str(msg.recent_blockhash),
                },
            },
            "meta": {
                "err": err,
                "fee": 5000,
                "preTokenBalances": pre,
                "postTokenBalances": post,
                "innerInstructions": [],
                "logMessages": [],
                "loadedAddresses": {"writable": loaded_w, "readonly": loaded_r},
            },
        }
        # References seen by getSignaturesForAddress: any account key of the transaction (failed ones too).
        for k in set(every):
            self.by_ref.setdefault(k, []).append(sig)
        self.landed[sig] = Landed(sig, slot, err, doc, deltas, refs, outflows)
        self._index([sig], "confirmed")
        return sig

    def pay(self, payer: Keypair, ixs: Sequence[Instruction], *, v0_lookup: Sequence[Pubkey] = ()) -> str:
        """A user's transaction (legacy, or version 0 with ``v0_lookup`` addresses in a lookup table)."""
        blockhash, _ = self.latest_blockhash()
        if v0_lookup:
            from solders.address_lookup_table_account import AddressLookupTableAccount

            table_key = self.lookup_table(v0_lookup)
            alt = AddressLookupTableAccount(table_key, list(v0_lookup))
            msg = MessageV0.try_compile(payer.pubkey(), list(ixs), [alt], blockhash)
            return self.execute(VersionedTransaction(msg, [payer]))
        return self.execute(
            Transaction([payer], Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash), blockhash)
        )

    # --- the indexer ------------------------------------------------------------------------------------

    def _index(self, signatures: Sequence[str], status: str) -> None:
        decoded = []
        for s in signatures:
            d = decode_transaction(s, self.landed[s].json, self.ctx, status)
            assert d is not None, f"the indexer could not decode {s}"
            if d.transfers:
                decoded.append(d)
        if decoded:
            with self.engine.begin() as conn:
                write_batch(conn, decoded)

    def finalize(self) -> None:
        """Everything landed so far is finalized; the indexer's finalized pass covers it."""
        self.slot += 1
        self.finalized = self.slot
        fresh = [s for s, t in self.landed.items() if t.slot <= self.finalized]
        self._index(fresh, "finalized")
        with self.engine.begin() as conn:
            for account in self.ctx.watched:
                mark_synced(conn, account, self.finalized)

    def advance(self, slots: int) -> None:
        """Time passes: slots (and 10 s each of clock) without transactions, finalized."""
        self.slot += slots
        self.clock += 10 * slots
        self.finalize()

    def balance_at(self, account: str, slot: int) -> BalanceAt:
        """The ledger check's chain reader: ``account``'s balance at ``slot`` (current minus later changes)."""
        amount = self.balances.get(account, 0)
        later = [t for t in self.landed.values() if t.slot > slot and t.err is None]
        for t in later:
            amount -= t.deltas.get(account, 0)
        return BalanceAt(amount, slot, len(later))
