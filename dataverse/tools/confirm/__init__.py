"""Changes that take two steps: a proposal the user sees, then a confirmation with a single-use, expiring token that
is consumed exactly once. Deletes (tools/delete/) and bulk changes (tools/bulk/) share it: the stored proposals and
their tokens (proposals.py), taking one at confirmation (take.py), and expiring the ones nobody confirmed
(expiry.py)."""
