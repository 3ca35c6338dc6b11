/* Does not compile (an undeclared name): ptmalloc-audit reports the compiler's message and
   exits 2, never a Python traceback. */
int main(void) { return undeclared_name; }
