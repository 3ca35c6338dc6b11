/*
 * The allocator's parameters: mp_ with glibc 2.36's defaults, mallopt(), the glibc.malloc.*
 * tunables of GLIBC_TUNABLES with their legacy MALLOC_*_ aliases, the hugepage settings, and the
 * perturb fill that M_PERTURB turns on; and glibc.malloc.history (alias PTMALLOC_HISTORY), an
 * extension of ours that glibc does not have (history.h).
 *
 * glibc parses its tunables in ld.so before any user code runs; a preloaded library only gets to
 * see the environment at the first malloc, so this module re-creates ld.so's parser (same number
 * syntax, same ranges, same precedence) and then applies the results in the order ptmalloc_init
 * does.  It runs inside malloc initialisation, so it never allocates and never touches stdio.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "history.h"
#include "internal.h"
#include "syscalls.h"

/* malloc.h's parameter numbers, spelled out so this file needs no public header. */
enum {
	PARAM_MXFAST = 1,
	PARAM_TRIM_THRESHOLD = -1,
	PARAM_TOP_PAD = -2,
	PARAM_MMAP_THRESHOLD = -3,
	PARAM_MMAP_MAX = -4,
	PARAM_CHECK_ACTION = -5,
	PARAM_PERTURB = -6,
	PARAM_ARENA_TEST = -7,
	PARAM_ARENA_MAX = -8,
};

/* ---- the setters shared by mallopt and the tunables (each returns mallopt's result) ---- */

static PTM_RARE int set_trim_threshold(size_t value)
{
	mp_.trim_threshold = value;
	mp_.no_dyn_threshold = 1;
	return 1;
}

/* glibc counts a fixed top pad as a manual setting too, so the sliding mmap threshold stops. */
static PTM_RARE int set_top_pad(size_t value)
{
	mp_.top_pad = value;
	mp_.no_dyn_threshold = 1;
	return 1;
}

static PTM_RARE int set_mmap_threshold(size_t value)
{
	/* Before 2.35 a threshold above half a heap is refused. */
	if (MMAP_THRESHOLD_CAPPED && value > HEAP_MAX_SIZE / 2)
		return 0;
	mp_.mmap_threshold = value;
	mp_.no_dyn_threshold = 1;
	return 1;
}

static PTM_RARE int set_mmaps_max(int32_t value)
{
	mp_.n_mmaps_max = value;
	mp_.no_dyn_threshold = 1;
	return 1;
}

static PTM_RARE int set_perturb_byte(int32_t value)
{
	perturb_byte = value;
	return 1;
}

static PTM_RARE int set_arena_test(size_t value)
{
	mp_.arena_test = value;
	return 1;
}

static PTM_RARE int set_arena_max(size_t value)
{
	mp_.arena_max = value;
	return 1;
}

static PTM_RARE int set_tcache_max(size_t value)
{
	if (value > MAX_TCACHE_SIZE)
		return 0;
	mp_.tcache_max_bytes = value;
	mp_.tcache_bins = csize2tidx(request_to_size(value)) + 1;
	return 1;
}

static PTM_RARE int set_tcache_count(size_t value)
{
	if (value > MAX_TCACHE_COUNT)
		return 0;
	mp_.tcache_count = value;
	return 1;
}

static PTM_RARE int set_tcache_unsorted_limit(size_t value)
{
	mp_.tcache_unsorted_limit = value;
	return 1;
}

static PTM_RARE int set_mxfast(size_t value)
{
	if (value > MAX_FAST_SIZE)
		return 0;
	set_max_fast(value);
	return 1;
}

/* Length of the run of `text` before the first `stop` or `other_stop` (or the end). */
static size_t length_until(const char *text, char stop, char other_stop)
{
	size_t length = 0;
	while (text[length] != '\0' && text[length] != stop && text[length] != other_stop)
		length++;
	return length;
}

/* ---- mallopt ---- */

int do_mallopt(int param, int value)
{
	ptmalloc_ensure_init();
	arena_lock_acquire(&main_arena.mutex);
	/* Changing max_fast with chunks still in fastbins would strand them; glibc empties them
	   whatever the parameter. */
	malloc_consolidate(&main_arena);

	/* Negative ints become huge size_t values on purpose: the setters' range checks (or the
	   lack of them) then behave as glibc's do. */
	int result = 1;
	switch (param) {
	case PARAM_MXFAST:
		result = set_mxfast((size_t)(long)value);
		break;
	case PARAM_TRIM_THRESHOLD:
		result = set_trim_threshold((size_t)(long)value);
		break;
	case PARAM_TOP_PAD:
		result = set_top_pad((size_t)(long)value);
		break;
	case PARAM_MMAP_THRESHOLD:
		result = set_mmap_threshold((size_t)(long)value);
		break;
	case PARAM_MMAP_MAX:
		result = set_mmaps_max(value);
		break;
	case PARAM_CHECK_ACTION:
		/* MALLOC_CHECK_ lives in libc_malloc_debug.so since 2.34; accepted and ignored. */
		break;
	case PARAM_PERTURB:
		result = set_perturb_byte(value);
		break;
	case PARAM_ARENA_TEST:
		if (value > 0)
			result = set_arena_test((size_t)value);
		break;
	case PARAM_ARENA_MAX:
		if (value > 0)
			result = set_arena_max((size_t)value);
		break;
	default:
		break;
	}
	arena_lock_release(&main_arena.mutex);
	return result;
}

/* ---- GLIBC_TUNABLES and the MALLOC_*_ aliases ---- */

enum tunable_type { TUNABLE_SIZE_T, TUNABLE_INT_32 };

/* What applying a tunable calls: its mallopt setter, or nothing ("check"). */
enum tunable_setter {
	SETS_TOP_PAD,
	SETS_PERTURB,
	SETS_MMAP_THRESHOLD,
	SETS_TRIM_THRESHOLD,
	SETS_MMAP_MAX,
	SETS_ARENA_MAX,
	SETS_ARENA_TEST,
	SETS_TCACHE_MAX,
	SETS_TCACHE_COUNT,
	SETS_TCACHE_UNSORTED_LIMIT,
	SETS_MXFAST,
	SETS_HUGETLB,
	SETS_HISTORY,
	SETS_NOTHING,
};

/* Names held in arrays and setters named by number, not pointers: a table with no pointers needs
   no relocation at load, so it stays in .rodata, read only when the environment names a tunable,
   instead of taking a quarter of the library's one page of writable data. */
struct tunable {
	char name[36];  /* full name as written in GLIBC_TUNABLES */
	char alias[24]; /* legacy environment variable, or "" */
	enum tunable_type type;
	enum tunable_setter setter;
	int64_t min, max; /* compared unsigned for SIZE_T, signed for INT_32 */
};

#define SIZE_T_MAX_AS_NUM ((int64_t)-1)
/* 2.34 refused negative values for mmap_max; 2.31 takes any int. */
#define MMAP_MAX_TUNABLE_MIN (GLIBC_VERSION >= 234 ? 0 : INT32_MIN)

/* In ptmalloc_init's order of application, which matters where two settings interact (mxfast
   after the tcache ones, hugetlb last).  "check" is parsed so it takes its alias, but only
   libc_malloc_debug.so acts on it. */
static const struct tunable malloc_tunables[] = {
    {"glibc.malloc.top_pad", "MALLOC_TOP_PAD_", TUNABLE_SIZE_T, SETS_TOP_PAD, 0, SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.perturb", "MALLOC_PERTURB_", TUNABLE_INT_32, SETS_PERTURB, 0, 0xff},
    {"glibc.malloc.mmap_threshold", "MALLOC_MMAP_THRESHOLD_", TUNABLE_SIZE_T, SETS_MMAP_THRESHOLD, 0,
     SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.trim_threshold", "MALLOC_TRIM_THRESHOLD_", TUNABLE_SIZE_T, SETS_TRIM_THRESHOLD, 0,
     SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.mmap_max", "MALLOC_MMAP_MAX_", TUNABLE_INT_32, SETS_MMAP_MAX, MMAP_MAX_TUNABLE_MIN,
     INT32_MAX},
    {"glibc.malloc.arena_max", "MALLOC_ARENA_MAX", TUNABLE_SIZE_T, SETS_ARENA_MAX, 1, SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.arena_test", "MALLOC_ARENA_TEST", TUNABLE_SIZE_T, SETS_ARENA_TEST, 1, SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.tcache_max", "", TUNABLE_SIZE_T, SETS_TCACHE_MAX, 0, SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.tcache_count", "", TUNABLE_SIZE_T, SETS_TCACHE_COUNT, 0, SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.tcache_unsorted_limit", "", TUNABLE_SIZE_T, SETS_TCACHE_UNSORTED_LIMIT, 0,
     SIZE_T_MAX_AS_NUM},
    {"glibc.malloc.mxfast", "", TUNABLE_SIZE_T, SETS_MXFAST, 0, SIZE_T_MAX_AS_NUM},
#if HAVE_HUGEPAGES
    {"glibc.malloc.hugetlb", "", TUNABLE_SIZE_T, SETS_HUGETLB, 0, SIZE_T_MAX_AS_NUM},
#endif
    {"glibc.malloc.check", "MALLOC_CHECK_", TUNABLE_INT_32, SETS_NOTHING, 0, 3},
    /* Ours, not glibc's: the allocation history's ring, in events (a ring of 2^24 takes 1 GiB). */
    {"glibc.malloc.history", "PTMALLOC_HISTORY", TUNABLE_SIZE_T, SETS_HISTORY, 0, 1 << 24},
};
#define TUNABLE_COUNT (sizeof malloc_tunables / sizeof malloc_tunables[0])

struct tunable_values {
	bool set[TUNABLE_COUNT];
	int64_t value[TUNABLE_COUNT];
};

/* ld.so's number syntax: blanks, a sign, 0x for hex, a leading 0 for octal, digits up to the first
   character that is not one; a value that would overflow reads as UINT64_MAX. */
static uint64_t parse_tunable_number(const char *text)
{
	while (*text == ' ' || *text == '\t')
		text++;
	bool negative = false;
	if (*text == '-') {
		negative = true;
		text++;
	} else if (*text == '+') {
		text++;
	}
	if (*text < '0' || *text > '9')
		return 0;
	unsigned base = 10;
	if (text[0] == '0') {
		if (text[1] == 'x' || text[1] == 'X') {
			base = 16;
			text += 2;
		} else {
			base = 8;
		}
	}
	uint64_t result = 0;
	for (;; text++) {
		unsigned digit;
		if (*text >= '0' && *text <= '9' && (unsigned)(*text - '0') < base)
			digit = (unsigned)(*text - '0');
		else if (base == 16 && *text >= 'a' && *text <= 'f')
			digit = (unsigned)(*text - 'a') + 10;
		else if (base == 16 && *text >= 'A' && *text <= 'F')
			digit = (unsigned)(*text - 'A') + 10;
		else
			break;
		if (result >= (UINT64_MAX - digit) / base)
			return UINT64_MAX;
		result = result * base + digit;
	}
	return negative ? -result : result;
}

static bool tunable_in_range(const struct tunable *tunable, int64_t value)
{
	if (tunable->type == TUNABLE_SIZE_T)
		return (uint64_t)value >= (uint64_t)tunable->min && (uint64_t)value <= (uint64_t)tunable->max;
	return value >= tunable->min && value <= tunable->max;
}

/* An out-of-range value leaves the tunable as it was, so an earlier valid setting survives. */
static PTM_COLD void record_tunable(struct tunable_values *values, size_t index, const char *text)
{
	int64_t value = (int64_t)parse_tunable_number(text);
	if (!tunable_in_range(&malloc_tunables[index], value))
		return;
	values->set[index] = true;
	values->value[index] = value;
}

/* Does `text` start with `name` immediately followed by '='? */
static bool names_match(const char *name, const char *text)
{
	for (; *name != '\0'; name++, text++)
		if (*name != *text)
			return false;
	return *text == '=';
}

/* Every name that matters starts with MALLOC_, GLIBC_ or (history's) PTMALLOC_.  Spelled as
   character constants so the usual environment, which has none, is skipped without reading the
   name tables. */
static bool may_name_a_tunable(const char *text)
{
	if (text[0] == 'M')
		return text[1] == 'A' && text[2] == 'L' && text[3] == 'L' && text[4] == 'O' &&
		       text[5] == 'C' && text[6] == '_';
	if (text[0] == 'P')
		return text[1] == 'T' && may_name_a_tunable(text + 2);
	return text[0] == 'G' && text[1] == 'L' && text[2] == 'I' && text[3] == 'B' && text[4] == 'C' &&
	       text[5] == '_';
}

/* name=value pairs separated by ':'; a name without '=' is skipped up to its ':', and a name
   left without '=' at the end stops the parse.  A value runs to the next ':'. */
static PTM_COLD void parse_glibc_tunables(struct tunable_values *values, const char *list)
{
	const char *cursor = list;
	while (*cursor != '\0') {
		const char *name = cursor;
		size_t name_length = length_until(name, '=', ':');
		if (name[name_length] == '\0')
			return;
		if (name[name_length] == ':') {
			cursor = name + name_length + 1;
			continue;
		}
		const char *value = name + name_length + 1;
		size_t value_length = length_until(value, ':', ':');
		/* The number parser stops at the ':' that ends the value, so no copy is needed. */
		for (size_t i = 0; i < TUNABLE_COUNT; i++) {
			if (names_match(malloc_tunables[i].name, name)) {
				record_tunable(values, i, value);
				break;
			}
		}
		cursor = value + value_length;
		if (*cursor == ':')
			cursor++;
	}
}

extern char **environ;

/* Walk the environment in order, as ld.so does: GLIBC_TUNABLES always overrides, and an alias
   only counts while its tunable has not been set by anything before it. */
static PTM_RARE bool read_environment(struct tunable_values *values)
{
	bool any = false;
	if (environ == NULL)
		return false;
	for (char **entry = environ; *entry != NULL; entry++) {
		const char *text = *entry;
		if (!may_name_a_tunable(text))
			continue;
		any = true;
		if (names_match("GLIBC_TUNABLES", text)) {
			parse_glibc_tunables(values, text + sizeof "GLIBC_TUNABLES");
			continue;
		}
		for (size_t i = 0; i < TUNABLE_COUNT; i++) {
			const char *alias = malloc_tunables[i].alias;
			if (alias[0] == '\0' || values->set[i] || !names_match(alias, text))
				continue;
			record_tunable(values, i, text + strlen(alias) + 1);
			break;
		}
	}
	return any;
}

static PTM_RARE void apply_tunable(enum tunable_setter setter, int64_t value)
{
	switch (setter) {
	case SETS_TOP_PAD:
		set_top_pad((size_t)value);
		break;
	case SETS_PERTURB:
		set_perturb_byte((int32_t)value);
		break;
	case SETS_MMAP_THRESHOLD:
		set_mmap_threshold((size_t)value);
		break;
	case SETS_TRIM_THRESHOLD:
		set_trim_threshold((size_t)value);
		break;
	case SETS_MMAP_MAX:
		set_mmaps_max((int32_t)value);
		break;
	case SETS_ARENA_MAX:
		set_arena_max((size_t)value);
		break;
	case SETS_ARENA_TEST:
		set_arena_test((size_t)value);
		break;
	case SETS_TCACHE_MAX:
		set_tcache_max((size_t)value);
		break;
	case SETS_TCACHE_COUNT:
		set_tcache_count((size_t)value);
		break;
	case SETS_TCACHE_UNSORTED_LIMIT:
		set_tcache_unsorted_limit((size_t)value);
		break;
	case SETS_MXFAST:
		set_mxfast((size_t)value);
		break;
	case SETS_HUGETLB:
		set_hugetlb((size_t)value);
		break;
	case SETS_HISTORY:
		history_enable((size_t)value);
		break;
	case SETS_NOTHING:
		break;
	}
}

/* Everything past the first look at the environment: reads it in full and applies what it set. */
static PTM_RARE void apply_environment(void)
{
	struct tunable_values values;
	memset(&values, 0, sizeof values);
	bool any = read_environment(&values);
	/* Every glibc.malloc tunable is "ignore" or "erase" for set-id programs: ld.so has already
	   removed the erasable ones from the environment, and none of the others takes effect.
	   (Asked only when there is something to ignore: most programs set no tunable.) */
	if (!any || getauxval(AT_SECURE) != 0)
		return;
	for (size_t i = 0; i < TUNABLE_COUNT; i++)
		if (values.set[i])
			apply_tunable(malloc_tunables[i].setter, values.value[i]);
}

/* Runs at every program's first malloc, so it only looks for a name that may be a tunable's; the
   work of reading and applying them stays on the rarely mapped pages. */
void ptmalloc_apply_tunables(void)
{
	if (environ == NULL)
		return;
	for (char **entry = environ; *entry != NULL; entry++) {
		if (may_name_a_tunable(*entry)) {
			apply_environment();
			return;
		}
	}
}
