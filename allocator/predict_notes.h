/*
 * What the prediction engine (gdb/native/predict_engine.c) learns from the allocator while it runs
 * the allocator's own code on a copy of an inferior's heap: where a malloc took its chunk from,
 * where a free put one, and which lock another thread held.  The engine builds this tree with
 * PTM_PREDICT_ENGINE; in the library every note compiles to nothing.
 */
#ifndef PTMALLOC_PREDICT_NOTES_H
#define PTMALLOC_PREDICT_NOTES_H

#if PTM_PREDICT_ENGINE
/* The last source noted before malloc returns is where its chunk came from. */
void predict_note_source(const char *where);
/* The first destination noted in a free is where the chunk went (later ones are consolidation). */
void predict_note_destination(const char *where);
#define NOTE_SOURCE(where) predict_note_source(where)
#define NOTE_DESTINATION(where) predict_note_destination(where)
#else
#define NOTE_SOURCE(where) ((void)0)
#define NOTE_DESTINATION(where) ((void)0)
#endif

#endif
