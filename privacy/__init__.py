"""Pure privacy functions: no I/O, no imports from the rest of straatstem.

Everything here is deterministic given its inputs (randomness is passed in or drawn from
`secrets` where a fresh secret is the point), so every invariant can be property-tested.
"""
