"""The LiteSVM runtime as the node configures it, and the translation of its errors to RPC JSON."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import orjson
from solders.epoch_schedule import EpochSchedule
from solders.litesvm import FeatureSet, LiteSVM
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.transaction_status import TransactionErrorFieldless


def err_to_json(err: Any) -> Any:
    """A solders TransactionError as RPC JSON (``"AlreadyProcessed"``, ``{"InstructionError": ...}``)."""
    if isinstance(err, TransactionErrorFieldless):
        return str(err).rsplit(".", 1)[-1]
    res = RpcSimulateTransactionResult(
        err=err, logs=None, accounts=None, units_consumed=None, return_data=None
    )
    return orjson.loads(res.to_json())["err"]


def return_data_json(meta: Any) -> dict[str, Any] | None:
    """A transaction's ``returnData`` in RPC form, or None when it returned nothing."""
    rd = meta.return_data()
    if rd is None or not bytes(rd.data):
        return None
    return {"programId": str(rd.program_id), "data": [b64encode(bytes(rd.data)).decode(), "base64"]}


class TxFailed(Exception):
    """A transaction that did not land (preflight), with what a validator reports about it."""

    def __init__(self, err: Any, logs: list[str], units: int, return_data: dict[str, Any] | None) -> None:
        super().__init__(str(err))
        self.err = err
        self.logs = logs
        self.units = units
        self.return_data = return_data


#: The runtime's feature set (what getStakeMinimumDelegation and friends report against).
FEATURES = FeatureSet.default()


def make_svm() -> LiteSVM:
    """A LiteSVM with builtins, SPL programs and sysvars that also accepts loader-v3 (upgradeable) deploys."""
    fs = FEATURES
    svm = (
        LiteSVM.default()
        .with_sysvars()
        .with_builtins(fs)
        .with_precompiles(fs)
        .with_spl_programs()
        .with_blockhash_check(False)  # the node enforces its own 150-slot window
        .with_transaction_history(0)  # and its own duplicate rule, against its ledger
        .with_sigverify(True)
    )
    svm.set_epoch_schedule(EpochSchedule.without_warmup())
    return svm
