/*
 * Preloaded into the glibc (oracle) runs of the statistics scenarios.  The clone, preloaded,
 * adds one TLS module to the process, which makes every new thread's DTV (calloc'd by
 * pthread_create from the heap) one entry longer; this library adds the same module to the glibc
 * runs, so both heaps see the same requests.
 */
__thread int tls_peer_slot;

int tls_peer_touch(void) { return ++tls_peer_slot; }
