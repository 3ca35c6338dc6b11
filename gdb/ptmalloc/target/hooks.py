"""Where an allocator before glibc 2.34 keeps its hooks, and the values glibc gives them.

Until 2.34, malloc, free, realloc and the memalign family first call __malloc_hook,
__free_hook, __realloc_hook and __memalign_hook when they are not NULL, and sbrk's callers call
__after_morecore_hook: overwriting one (with `system`, a one-gadget) is the classic exploit of
a 2.31 heap.  At start-up three of them are not NULL: glibc sets __malloc_hook, __realloc_hook
and __memalign_hook to its own initialising functions, which clear them on the first call.
Those values are named here by the functions' symbols (the clone defines the same three), so
that only a value glibc never stores is taken for damage."""

# Each hook, and the initialising function glibc stores there before the first call.
HOOKS = (("__malloc_hook", "malloc_hook_ini"), ("__free_hook", None),
         ("__realloc_hook", "realloc_hook_ini"), ("__memalign_hook", "memalign_hook_ini"),
         ("__after_morecore_hook", None))


class HookPlace:
    """One hook: `name`, `address` (of the variable) and `initial` (the address of glibc's
    initialising function stored there at start-up, or None)."""

    __slots__ = ("name", "address", "initial")

    def __init__(self, name, address, initial):
        self.name = name
        self.address = address
        self.initial = initial


def places(allocator):
    """[HookPlace] of the allocator's hooks, found beside its other globals; [] for a release
    whose malloc calls no hook (2.34 on; glibc keeps the variables only for old binaries)."""
    if not allocator.release.hooks_live:
        return []
    found = []
    for name, initialiser in HOOKS:
        address = allocator.global_address(name)
        if address is not None:
            initial = allocator.global_address(initialiser, function=True) if initialiser else None
            found.append(HookPlace(name, address, initial))
    return found
