# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Payment router: each payment names its invoice
@notice pay(invoiceId, amount) moves `amount` of the token from the payer (who approved this router first) to
        the treasury and emits Paid(invoiceId, payer, amount). The treasury and token are fixed at deploy; the
        router holds nothing and has no owner, so there is nothing to withdraw or reconfigure.
"""

from ethereum.ercs import IERC20

event Paid:
    invoiceId: indexed(bytes32)
    payer: indexed(address)
    amount: uint256

token: public(immutable(address))
treasury: public(immutable(address))


@deploy
def __init__(_token: address, _treasury: address):
    assert _token != empty(address), "token is the zero address"
    assert _treasury != empty(address), "treasury is the zero address"
    token = _token
    treasury = _treasury


@external
def pay(invoiceId: bytes32, amount: uint256):
    assert amount > 0, "amount is zero"
    # default_return_value: tokens that return nothing are accepted; a false return or a revert fails the call.
    assert extcall IERC20(token).transferFrom(msg.sender, treasury, amount, default_return_value=True)
    log Paid(invoiceId=invoiceId, payer=msg.sender, amount=amount)
