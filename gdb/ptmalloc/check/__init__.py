"""Layer 5, check: the audit behind `heap check`, each finding with its predicted abort.

audit (collects what points at chunks, runs the rules) · heap, membership, chains,
allocator_globals, hooks (the rules, by concern) · rows and places (chunk rows and names for
findings) · findings (Finding and the Rule names) · leaks (`--leaks`) · pending_free (`--free`)."""
