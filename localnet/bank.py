"""The node's state machine: LiteSVM plus slots, blockhashes, commitment, the ledger and account indexes.

Everything here runs on the node's one event-loop thread; nothing is thread-safe and nothing needs to be.
"""

from __future__ import annotations

import hashlib
import logging
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from localnet.b58 import b58encode
from localnet.constants import (
    BLOCKHASH_WINDOW,
    LAMPORTS_PER_SIGNATURE,
    LOOKUP_TABLE_PROGRAM,
    PRELOADED_ACCOUNTS,
    SLOT_HASHES_MAX,
    SLOTS_PER_EPOCH,
    TOKEN_PROGRAMS,
)
from localnet.errors import LocalnetError
from localnet.history import MISSING, AccountHistory
from localnet.ledger import AccountRow, LedgerFile
from localnet.parsers import read_mint, read_token_account, ui_token_amount
from localnet.records import TxRecord, memo_summary
from localnet.svm import TxFailed, err_to_json, make_svm, return_data_json

log = logging.getLogger(__name__)

COMMITMENTS = ("processed", "confirmed", "finalized")
_TOKEN_PKS = {Pubkey.from_string(p): p for p in TOKEN_PROGRAMS}
FAUCET_LAMPORTS = 500_000_000 * 1_000_000_000


def _blockhash_for(genesis: bytes, slot: int) -> Hash:
    return Hash(hashlib.sha256(genesis + slot.to_bytes(8, "little")).digest())


class Bank:
    """The chain state of the embedded node.

    Args:
        finality_slots: slots after which a transaction is finalized (confirmed is one slot).
        ledger_dir: directory of the persistent ledger; None keeps everything in memory.
        reset: start from an empty ledger even when ``ledger_dir`` has one.
        bpf_programs: (program id, path to .so) loaded at start.
    """

    def __init__(
        self,
        finality_slots: int = 32,
        ledger_dir: Path | None = None,
        reset: bool = False,
        bpf_programs: list[tuple[str, Path]] | None = None,
    ) -> None:
        if not 1 <= finality_slots <= BLOCKHASH_WINDOW - 1:
            raise LocalnetError(f"finality_slots must be between 1 and {BLOCKHASH_WINDOW - 1}")
        self.finality_slots = finality_slots
        self.svm = make_svm()
        self.txs: list[TxRecord] = []
        self.tx_slots: list[int] = []  # slot of each record, for bisecting blocks out of the ledger
        self.by_sig: dict[str, TxRecord] = {}
        self.by_addr: dict[str, list[int]] = {}
        self.owner_of: dict[str, str] = {}
        self.by_owner: dict[str, set[str]] = {}
        self.exec_lamports: dict[str, int] = {}
        self.decimals: dict[str, int] = {}
        self.slot_times: dict[int, int] = {}
        self.blockhashes: OrderedDict[str, int] = OrderedDict()
        self.listeners: list[Callable[[TxRecord, list[str]], None]] = []
        self._dirty: set[str] = set()
        self.history = AccountHistory()
        self._unsaved: list[TxRecord] = []
        #: RPC renderings of immutable data (past blocks, leader schedule), bounded; owned by the RPC modules
        self.memo: OrderedDict[Any, Any] = OrderedDict()
        #: the node's own addresses for getClusterNodes ({"rpc": "host:port", "pubsub": ...}), set once serving
        self.contact: dict[str, str] = {}
        self.ledger = LedgerFile(ledger_dir, reset) if ledger_dir is not None else None
        try:
            self._start(bpf_programs or [])
        except BaseException:
            if self.ledger is not None:  # release the ledger lock; nothing of this start is written
                self.ledger.close()
                self.ledger = None
            raise

    def _start(self, bpf_programs: list[tuple[str, Path]]) -> None:
        ledger = self.ledger

        def meta(key: str) -> bytes | None:
            return ledger.get_meta(key) if ledger is not None else None

        self.genesis = meta("genesis") or hashlib.sha256(Keypair().secret()).digest()
        self.identity = Keypair.from_bytes(meta("identity") or bytes(Keypair()))
        self.faucet = Keypair.from_bytes(meta("faucet") or bytes(Keypair()))
        saved_slot = meta("slot")
        # slot 0 is genesis (rooted, without transactions); the first slot that takes transactions is 1
        self.slot = int(saved_slot) if saved_slot else 1
        # the finalized slot clients saw: it never steps back, even when --finality-slots grows across a restart
        self._root_floor = int(meta("finalized") or 0)
        self._saved_slot = int(saved_slot) if saved_slot else None
        if self.ledger is not None:
            self._restore()
        if self.svm.get_balance(self.faucet.pubkey()) in (None, 0):
            self.svm.set_account(self.faucet.pubkey(), Account(FAUCET_LAMPORTS, b"", Pubkey.default()))
            self._dirty.add(str(self.faucet.pubkey()))
        for program_id, path in bpf_programs:
            self.load_program(program_id, path)
        first = max(0, self.slot - BLOCKHASH_WINDOW + 1)
        for s in range(first, self.slot + 1):
            self.blockhashes[str(_blockhash_for(self.genesis, s))] = s
        now = int(time.time())
        self.slot_times.setdefault(0, now)  # genesis
        first_hash = max(0, self.slot - SLOT_HASHES_MAX)
        self._slot_hashes: deque[tuple[int, Hash]] = deque(
            ((s, _blockhash_for(self.genesis, s)) for s in range(self.slot - 1, first_hash - 1, -1)),
            maxlen=SLOT_HASHES_MAX,
        )
        self.svm.set_slot_hashes(list(self._slot_hashes))
        self.slot_times.setdefault(self.slot, now)
        self._slots_saved = max(self.slot_times) if self.ledger is not None and saved_slot else -1
        self._set_clock()
        self.genesis_hash = str(_blockhash_for(self.genesis, 0))
        self.flush()  # genesis, identity and the start-up accounts are on disk before any client sees them

    # --- start-up ------------------------------------------------------------------------------------------

    def load_program(self, program_id: str, path: Path) -> None:
        """Load an SBF ``.so`` as an (immutable) program at ``program_id``."""
        try:
            pid = Pubkey.from_string(program_id)
        except ValueError as exc:
            raise LocalnetError(f"--bpf-program: {program_id!r} is not a base58 public key") from exc
        if not path.is_file():
            raise LocalnetError(f"--bpf-program: {path} does not exist")
        try:
            self.svm.add_program(pid, path.read_bytes())
        except BaseException as exc:  # LiteSVM panics (pyo3 PanicException) on a bad ELF
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise LocalnetError(f"--bpf-program: {path} is not a loadable SBF program ({exc})") from exc
        self._note_account(program_id)

    def _restore(self) -> None:
        assert self.ledger is not None
        for pk, lamports, data, owner, executable in self.ledger.accounts():
            self.svm.set_account(
                Pubkey.from_string(pk), Account(lamports, data, Pubkey.from_string(owner), executable)
            )
            self._index_owner(pk, owner)
        self.slot_times.update(self.ledger.slot_times())
        for rec in self.ledger.transactions():
            rec.block_time = self.slot_times.get(rec.slot, rec.block_time)  # older ledgers stamped send time
            self._index_tx(rec)
        self.history.load(self.ledger.history(), self.commitment_slot("finalized"))

    # --- clock ----------------------------------------------------------------------------------------------

    def _set_clock(self) -> None:
        now = self.slot_times[self.slot]
        epoch = self.slot // SLOTS_PER_EPOCH
        self.svm.set_clock(
            Clock(
                slot=self.slot,
                epoch_start_timestamp=now,
                epoch=epoch,
                leader_schedule_epoch=epoch + 1,
                unix_timestamp=now,
            )
        )

    def tick(self, now: int | None = None) -> int:
        """Advance one slot: new blockhash, clock at wall time (or unix time ``now``). Returns the new slot.

        The ledger commits the new slot before the node moves to it: no client sees a slot (and the
        commitment levels it implies) that a restart would not restore. If the commit fails, nothing moves.
        """
        nxt = self.slot + 1
        self.slot_times[nxt] = int(time.time()) if now is None else now
        self.flush(nxt)
        self.slot = nxt
        self.blockhashes[str(_blockhash_for(self.genesis, self.slot))] = self.slot
        while len(self.blockhashes) > BLOCKHASH_WINDOW:
            self.blockhashes.popitem(last=False)
        self._set_clock()
        self._slot_hashes.appendleft((self.slot - 1, _blockhash_for(self.genesis, self.slot - 1)))
        self.svm.set_slot_hashes(list(self._slot_hashes))
        self.svm.expire_blockhash()  # durable nonces advance against LiteSVM's own per-slot blockhash
        self.history.prune(self.commitment_slot("finalized"))
        return self.slot

    def finalized_at(self, slot: int) -> int:
        """The finalized slot when the node is at ``slot``."""
        return max(self._root_floor, slot - self.finality_slots, 0)

    def commitment_slot(self, commitment: str) -> int:
        """The highest slot visible at ``commitment``."""
        if commitment == "processed":
            return self.slot
        if commitment == "confirmed":
            return max(0, self.slot - 1)
        return self.finalized_at(self.slot)

    def blockhash_at(self, slot: int) -> str:
        """The blockhash of ``slot``."""
        return str(_blockhash_for(self.genesis, slot))

    def status_of(self, rec: TxRecord) -> str:
        """processed, confirmed or finalized."""
        if rec.slot <= self.finalized_at(self.slot):
            return "finalized"
        if rec.slot <= self.slot - 1:
            return "confirmed"
        return "processed"

    def visible(self, rec: TxRecord, commitment: str) -> bool:
        """Whether a request at ``commitment`` sees ``rec``."""
        return rec.slot <= self.commitment_slot(commitment)

    # --- accounts -------------------------------------------------------------------------------------------

    def get_account(self, pubkey: str, commitment: str = "processed") -> Account | None:
        """The account at ``pubkey`` as ``commitment`` sees it (None when it does not exist)."""
        acc: Any = MISSING
        if commitment != "processed":
            acc = self.history.at(pubkey, self.commitment_slot(commitment))
        if acc is MISSING:
            acc = self.svm.get_account(Pubkey.from_string(pubkey))
        if acc is None or (acc.lamports == 0 and not acc.executable):
            return None
        return acc

    def mint_decimals(self, mint: str) -> int | None:
        """Decimals of an SPL mint (cached: they never change)."""
        dec = self.decimals.get(mint)
        if dec is None:
            acc = self.get_account(mint)
            info = (
                read_mint(bytes(acc.data)) if acc is not None and str(acc.owner) in TOKEN_PROGRAMS else None
            )
            if info is None:
                return None
            dec = self.decimals[mint] = info["decimals"]
        return dec

    def accounts_of_program(self, owner: str) -> list[str]:
        """Every known account owned by ``owner`` (the node tracks every account a transaction wrote)."""
        return sorted(self.by_owner.get(owner, ()))

    def _index_owner(self, pk: str, owner: str | None) -> None:
        old = self.owner_of.get(pk)
        if old == owner:
            return
        if old is not None:
            self.by_owner[old].discard(pk)
        if owner is None:
            self.owner_of.pop(pk, None)
        else:
            self.owner_of[pk] = owner
            self.by_owner.setdefault(owner, set()).add(pk)

    def _note_account(self, pk: str) -> Account | None:
        acc = self.get_account(pk)
        self._index_owner(pk, None if acc is None else str(acc.owner))
        self._dirty.add(pk)
        return acc

    # --- transactions ---------------------------------------------------------------------------------------

    def _token_balance(self, i: int, program: str, data: bytes) -> dict[str, Any] | None:
        t = read_token_account(data)
        if t is None:
            return None
        decimals = self.mint_decimals(t[0])
        if decimals is None:
            return None
        return {
            "accountIndex": i,
            "mint": t[0],
            "owner": t[1],
            "programId": program,
            "uiTokenAmount": ui_token_amount(t[2], decimals),
        }

    def resolve_tokens(self, rec: TxRecord) -> TxRecord:
        """Fill ``pre_token`` / ``post_token`` from the raw snapshots taken at send time (done lazily)."""
        if rec.pre_token is None:
            pre, post = rec.tok_raw
            rec.pre_token = [b for i, p, d in pre if (b := self._token_balance(i, p, d))]
            rec.post_token = [b for i, p, d in post if (b := self._token_balance(i, p, d))]
            rec.tok_raw = None
        return rec

    def _snapshot(self, pks: list[Pubkey], keys: list[str]) -> tuple[list[Account | None], list[int]]:
        accs: list[Account | None] = []
        lamports: list[int] = []
        get = self.svm.get_account
        for pk, k in zip(pks, keys, strict=True):
            lam = self.exec_lamports.get(k)
            if lam is not None:
                accs.append(None)
                lamports.append(lam)
                continue
            acc = get(pk)
            if acc is not None and acc.executable:
                self.exec_lamports[k] = acc.lamports
                accs.append(None)
            else:
                accs.append(acc)
            lamports.append(0 if acc is None else acc.lamports)
        return accs, lamports

    def process(self, tx: VersionedTransaction, preflight: bool) -> TxRecord | None:
        """Execute a checked transaction. Returns its record, or None when it was dropped (no fee payable).

        Raises:
            TxFailed: with ``preflight``, when it fails; nothing is changed then.
        """
        msg = tx.message
        pks = list(msg.account_keys)
        keys = [str(k) for k in pks]
        h = msg.header
        n = len(keys)
        nsig = h.num_required_signatures
        w_signed = nsig - h.num_readonly_signed_accounts
        w_unsigned_end = n - h.num_readonly_unsigned_accounts
        writable = [i < w_signed or nsig <= i < w_unsigned_end for i in range(n)]
        loaded = self._lookup(msg) if getattr(msg, "address_table_lookups", None) else None
        if loaded is not None:  # v0: addresses from lookup tables follow the static keys, writable first
            for group, flag in ((loaded[0], True), (loaded[1], False)):
                pks += [Pubkey.from_string(k) for k in group]
                keys += group
                writable += [flag] * len(group)
            n = len(keys)
        pre_accs, pre_bal = self._snapshot(pks, keys)
        res: Any = self.svm.send_transaction(tx)
        failed = isinstance(res, FailedTransactionMetadata)
        meta: Any = res.meta() if failed else res
        err = err_to_json(res.err()) if failed else None
        return_data = return_data_json(meta)
        if failed:
            payer_after = self.svm.get_balance(pks[0]) or 0
            if preflight or payer_after >= pre_bal[0]:
                for i in range(n):  # only the fee can have moved: put it back
                    acc = pre_accs[i]
                    if writable[i] and acc is not None:
                        self.svm.set_account(pks[i], acc)
                if preflight:
                    raise TxFailed(err, list(meta.logs()), meta.compute_units_consumed(), return_data)
                return None
        post_bal = list(pre_bal)
        post_accs = list(pre_accs)
        changed: list[str] = []
        get = self.svm.get_account
        for i in range(n):
            if writable[i] and keys[i] not in self.exec_lamports:
                acc = get(pks[i])
                post_accs[i] = acc
                post_bal[i] = 0 if acc is None else acc.lamports
                k = keys[i]
                changed.append(k)
                self.history.record(k, self.slot, pre_accs[i], acc)
                self._index_owner(
                    k, None if acc is None or (acc.lamports == 0 and not acc.executable) else str(acc.owner)
                )
        self._dirty.update(changed)
        tok = _TOKEN_PKS
        pre_tok = [
            (i, p, bytes(a.data)) for i, a in enumerate(pre_accs) if a is not None and (p := tok.get(a.owner))
        ]
        post_tok = [
            (i, p, bytes(a.data))
            for i, a in enumerate(post_accs)
            if a is not None and (p := tok.get(a.owner))
        ]
        inner = []
        for idx, group in enumerate(meta.inner_instructions()):
            if group:
                inner.append(
                    {
                        "index": idx,
                        "instructions": [
                            {
                                "programIdIndex": (ci := ii.instruction()).program_id_index,
                                "accounts": list(ci.accounts),
                                "data": b58encode(bytes(ci.data)),
                                "stackHeight": ii.stack_height(),
                            }
                            for ii in group
                        ],
                    }
                )
        ixs = [(ix.program_id_index, list(ix.accounts), bytes(ix.data)) for ix in msg.instructions]
        rec = TxRecord(
            seq=len(self.txs),
            signature=str(tx.signatures[0]),
            slot=self.slot,
            block_time=self.slot_times[self.slot],  # a transaction's blockTime is its block's
            raw=bytes(tx),  # re-serialised: the wire bytes may carry trailing junk that solders ignores
            keys=keys,
            writable=writable,
            num_signers=nsig,
            fee=LAMPORTS_PER_SIGNATURE * len(tx.signatures),
            err=err,
            pre_balances=pre_bal,
            post_balances=post_bal,
            pre_token=None,
            post_token=None,
            logs=list(meta.logs()),
            inner=inner,
            units=meta.compute_units_consumed(),
            return_data=return_data,
            memo=memo_summary(keys, ixs),
            tok_raw=(pre_tok, post_tok),
            loaded=loaded,
        )
        self._index_tx(rec)
        self._unsaved.append(rec)
        for listener in self.listeners:
            listener(rec, changed)
        return rec

    def _lookup(self, msg: Any) -> list[list[str]] | None:
        """[writable, readonly] addresses a v0 message loads from lookup tables; None if a table is unusable
        (LiteSVM then rejects the transaction itself)."""
        w: list[str] = []
        r: list[str] = []
        for lu in msg.address_table_lookups:
            acc = self.svm.get_account(lu.account_key)
            if acc is None or str(acc.owner) != LOOKUP_TABLE_PROGRAM:
                return None
            data = bytes(acc.data)
            count = (len(data) - 56) // 32
            for idx_list, out in ((lu.writable_indexes, w), (lu.readonly_indexes, r)):
                for i in bytes(idx_list):
                    if i >= count:
                        return None
                    out.append(str(Pubkey.from_bytes(data[56 + 32 * i : 88 + 32 * i])))
        return [w, r]

    def _index_tx(self, rec: TxRecord) -> None:
        self.txs.append(rec)
        self.tx_slots.append(rec.slot)
        self.by_sig[rec.signature] = rec
        by_addr = self.by_addr
        for k in dict.fromkeys(rec.keys):
            lst = by_addr.get(k)
            if lst is None:
                by_addr[k] = [rec.seq]
            else:
                lst.append(rec.seq)

    def simulate(self, tx: VersionedTransaction, sig_verify: bool) -> tuple[Any, Any]:
        """Run ``tx`` without committing. Returns (err JSON or None, solders meta, post accounts)."""
        if not sig_verify:
            self.svm.with_sigverify(False)
        try:
            res = self.svm.simulate_transaction(tx)
        finally:
            if not sig_verify:
                self.svm.with_sigverify(True)
        if isinstance(res, FailedTransactionMetadata):
            return err_to_json(res.err()), (res.meta(), [])
        return None, (res.meta(), list(res.post_accounts()))

    def airdrop_tx(self, to: Pubkey, lamports: int) -> VersionedTransaction:
        """A faucet transfer signed with a recent blockhash, unique among landed transactions."""
        ix = transfer(TransferParams(from_pubkey=self.faucet.pubkey(), to_pubkey=to, lamports=lamports))
        msg = Message([ix], self.faucet.pubkey())
        for bh in reversed(self.blockhashes):
            tx = Transaction([self.faucet], msg, Hash.from_string(bh))
            if str(tx.signatures[0]) not in self.by_sig:
                return VersionedTransaction.from_legacy(tx)
        raise LocalnetError("airdrop: this exact airdrop was already made with every recent blockhash")

    # --- history queries ------------------------------------------------------------------------------------

    def txs_in_slot(self, slot: int) -> list[TxRecord]:
        """The transactions of the block at ``slot``, in the order they landed."""
        return self.txs[bisect_left(self.tx_slots, slot) : bisect_right(self.tx_slots, slot)]

    def tx_count_through(self, slot: int) -> int:
        """How many transactions landed in slots up to ``slot``."""
        return bisect_right(self.tx_slots, slot)

    def known_accounts(self) -> list[str]:
        """Every account the node can name: written by a transaction, loaded, preloaded, or the faucet."""
        return sorted(set(self.owner_of) | set(PRELOADED_ACCOUNTS) | {str(self.faucet.pubkey())})

    def signatures_for(
        self, addr: str, commitment: str, before: str | None, until: str | None, limit: int
    ) -> list[TxRecord]:
        """Newest first; ``before`` and ``until`` are exclusive bounds."""
        seqs = self.by_addr.get(addr, [])
        hi = len(seqs)
        if before is not None:
            b = self.by_sig.get(before)
            hi = bisect_left(seqs, b.seq) if b is not None else 0
        lo_seq = -1
        if until is not None:
            u = self.by_sig.get(until)
            if u is not None:
                lo_seq = u.seq
        max_slot = self.commitment_slot(commitment)
        out: list[TxRecord] = []
        for i in range(hi - 1, -1, -1):
            rec = self.txs[seqs[i]]
            if rec.seq <= lo_seq:
                break
            if rec.slot > max_slot:
                continue
            out.append(rec)
            if len(out) >= limit:
                break
        return out

    # --- persistence ----------------------------------------------------------------------------------------

    def has_changes(self) -> bool:
        """Whether something clients can see is not yet in the ledger file (never, without a ledger)."""
        return self.ledger is not None and bool(self._unsaved or self._dirty or self.history.has_changes())

    def flush(self, slot: int | None = None) -> None:
        """Commit what changed since the last flush (transactions, accounts, their history) with the node's slot.

        ``slot`` is the slot to record as the node's (default: the current one; ``tick`` passes the next).
        The node calls this before answering a request that changed state and before each slot begins, so
        what a client saw at any commitment is on disk before it saw it.
        """
        slot = self.slot if slot is None else slot
        if self.ledger is None:
            self._dirty.clear()
            self._unsaved.clear()
            self.history.clear_changes()
            return
        if not self.has_changes() and slot == self._saved_slot:
            return
        rows: list[AccountRow] = []
        deleted: list[str] = []
        for pk in self._dirty:
            acc = self.get_account(pk)
            if acc is None:
                deleted.append(pk)
            else:
                rows.append((pk, acc.lamports, bytes(acc.data), str(acc.owner), acc.executable))
        meta = {"slot": str(slot).encode(), "finalized": str(self.finalized_at(slot)).encode()}
        if self._saved_slot is None:
            meta.update(genesis=self.genesis, identity=bytes(self.identity), faucet=bytes(self.faucet))
        for rec in self._unsaved:
            self.resolve_tokens(rec)
        times = self.slot_times
        slots = [(s, times[s]) for s in range(self._slots_saved + 1, slot + 1) if s in times]
        self.ledger.commit(meta, self._unsaved, rows, deleted, slots, self.history.changes())
        self._slots_saved = max(self._slots_saved, slot)
        self._saved_slot = slot
        self._dirty.clear()
        self._unsaved.clear()
        self.history.clear_changes()

    def close(self) -> None:
        """Flush and close the ledger."""
        if self.ledger is not None:
            self.flush()
            self.ledger.close()
            self.ledger = None
