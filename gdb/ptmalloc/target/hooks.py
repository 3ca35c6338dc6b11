"""Where an allocator before glibc 2.34 keeps its hooks, and the values glibc gives them.

Until 2.34, malloc, free, realloc and the memalign family first call __malloc_hook,
__free_hook, __realloc_hook and __memalign_hook when they are not NULL, and sbrk's callers call
__after_morecore_hook: overwriting one (with `system`, a one-gadget) is the classic exploit of
a 2.31 heap.  At start-up three of them are not NULL: glibc sets __malloc_hook, __realloc_hook
and __memalign_hook to its own initialising functions, which clear them on the first call.
With MALLOC_CHECK_ set, glibc's initialisation puts its checking functions in the first four
instead, for good.  Those values are named here by the functions' symbols (the clone defines
the same ones), so that only a value glibc never stores is taken for damage."""

# Each hook, the initialising function glibc stores there before the first call, and the
# checking function MALLOC_CHECK_ makes it store there.
HOOKS = (("__malloc_hook", "malloc_hook_ini", "malloc_check"),
         ("__free_hook", None, "free_check"),
         ("__realloc_hook", "realloc_hook_ini", "realloc_check"),
         ("__memalign_hook", "memalign_hook_ini", "memalign_check"),
         ("__after_morecore_hook", None, None))


class HookPlace:
    """One hook: `name`, `address` (of the variable), `initial` (the address of glibc's
    initialising function stored there at start-up, or None) and `malloc_check` (the address of
    glibc's MALLOC_CHECK_ function for it, or None)."""

    __slots__ = ("name", "address", "initial", "malloc_check")

    def __init__(self, name, address, initial, malloc_check):
        self.name = name
        self.address = address
        self.initial = initial
        self.malloc_check = malloc_check


def places(allocator):
    """[HookPlace] of the allocator's hooks, found beside its other globals; [] for a release
    whose malloc calls no hook (2.34 on; glibc keeps the variables only for old binaries)."""
    if not allocator.release.hooks_live:
        return []
    found = []
    for name, initialiser, checker in HOOKS:
        address = allocator.global_address(name)
        if address is not None:
            initial, malloc_check = (allocator.global_address(function, function=True)
                                     if function else None
                                     for function in (initialiser, checker))
            found.append(HookPlace(name, address, initial, malloc_check))
    return found
