"""The heap check's rule over the malloc hooks of glibc before 2.34: a hook that holds anything
but NULL or glibc's own initialising function (model/malloc_hooks.py) takes over the next call
to the function it hooks.  Writing `system` or a gadget into __free_hook or __malloc_hook is
the classic end of a heap exploit on those releases, so such a value is named, with what it
points at.  A mixin of audit.Audit, which supplies `add` and `snap`."""

from ..model import malloc_hooks
from .findings import Rule

# Who calls each hook, as glibc 2.31's entry points do.
_CALLED_BY = {
    "__malloc_hook": "malloc and calloc call it instead of allocating",
    "__free_hook": "free calls it instead of freeing",
    "__realloc_hook": "realloc calls it instead of resizing",
    "__memalign_hook": "memalign and the other aligned allocations call it instead of allocating",
    "__after_morecore_hook": "malloc calls it each time it grows a heap with sbrk",
}


class HookRules:
    def _check_hooks(self):
        for hook in malloc_hooks.read(self.snap):
            if not hook.set_by_program:
                continue
            pointed = " (%s)" % hook.target if hook.target else ""
            self.add(Rule.MALLOC_HOOK, hook.address,
                     "%s is %#x%s: %s; unless the program installed it on purpose, it was "
                     "overwritten (the classic way to take over a glibc %s process)"
                     % (hook.name, hook.value, pointed, _CALLED_BY.get(hook.name, "malloc calls it"),
                        self.snap.allocator.release))
