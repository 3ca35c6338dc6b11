"""Layer 4, predict: what the next free(), malloc() or realloc() would do to the heap as it is,
answered by the allocator's own code.

engine (the conversation with the prediction engine, gdb/native/predict_engine.c, which runs
the call on a copy of the inferior's memory) · pages (the inferior's pages as the engine asks
for them) · touches (which call next meets a damaged place,
for heap check) · places (names for the words a call would write)."""
