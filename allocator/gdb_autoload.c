/*
 * Names the heap inspector in the library's .debug_gdb_scripts section, so gdb offers to load
 * gdb/ptmalloc-gdb.py as soon as it loads a program using the clone (preloaded, linked, or
 * linked statically from libptmalloc.a).  gdb looks for the file in its current folder and along
 * its source path (`directory`), and loads it only from an auto-load safe path; README says how.
 * "MS" with entry size 1 lets the linker merge duplicate entries.
 */
__asm__(".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
        ".byte 1\n" /* SECTION_SCRIPT_ID_PYTHON_FILE */
        ".asciz \"ptmalloc-gdb.py\"\n"
        ".popsection\n");

/* A static link pulls an archive member only for a symbol it needs, and nothing needs this
   section; a reference to this anchor from a member that is always linked (api.c) brings it. */
const char ptmalloc_gdb_script_anchor = 1;
