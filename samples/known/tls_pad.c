/*
 * A library with nothing but one TLS variable.  Preloaded into a sample running on plain glibc,
 * it gives the process as many TLS modules as the same sample has with libptmalloc (whose tcache
 * and thread_arena are TLS): pthread_create's DTV calloc then asks for the same size on both,
 * and the two heaps can be compared chunk for chunk.
 */
__thread int tls_pad_variable;
