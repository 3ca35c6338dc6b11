/*
 * ptm-layout: print the layout manifest of an allocator build (libptmalloc.so, or glibc's
 * libc.so.6 through its libc6-dbg debug file) as JSON, so the GDB extension can inspect a copy of
 * that build which has no debug info: the build-id that identifies it, the offset/size/count of
 * every field of the heap structs, the link-time offsets of the heap globals, the offsets of the
 * TLS variables inside the module's TLS block and where the module's TLS block is at run time.
 *
 * Exit status: 0 written, 1 unusable input (one line on stderr), 2 --check found gaps.
 */
#include "dwarf_reader.h"
#include "elf_file.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every field the extension reads, in declaration order (glibc 2.36 names). */
static const char *const chunk_fields[] = {"mchunk_prev_size", "mchunk_size", "fd", "bk",
                                           "fd_nextsize",      "bk_nextsize", NULL};
static const char *const state_fields[] = {
    "mutex",  "flags", "have_fastchunks", "fastbinsY",        "top",        "last_remainder", "bins",
    "binmap", "next",  "next_free",       "attached_threads", "system_mem", "max_system_mem", NULL};
static const char *const heap_info_fields[] = {"ar_ptr",   "prev", "size", "mprotect_size",
                                               "pagesize", "pad",  NULL};
static const char *const par_fields[] = {"trim_threshold",
                                         "top_pad",
                                         "mmap_threshold",
                                         "arena_test",
                                         "arena_max",
                                         "thp_pagesize",
                                         "hp_pagesize",
                                         "hp_flags",
                                         "n_mmaps",
                                         "n_mmaps_max",
                                         "max_n_mmaps",
                                         "no_dyn_threshold",
                                         "mmapped_mem",
                                         "max_mmapped_mem",
                                         "sbrk_base",
                                         "tcache_bins",
                                         "tcache_max_bytes",
                                         "tcache_count",
                                         "tcache_unsorted_limit",
                                         NULL};
static const char *const tcache_fields[] = {"counts", "entries", NULL};
static const char *const entry_fields[] = {"next", "key", NULL};

static const char *const type_names[] = {"struct malloc_chunk", "struct malloc_state",     "heap_info",
                                         "struct malloc_par",   "tcache_perthread_struct", "tcache_entry"};
static const char *const *const type_fields[] = {chunk_fields, state_fields,  heap_info_fields,
                                                 par_fields,   tcache_fields, entry_fields};
enum { TYPE_COUNT = sizeof type_names / sizeof type_names[0] };

static const char *const required_symbols[] = {"main_arena", "mp_", "global_max_fast", NULL};
static const char *const optional_symbols[] = {"tcache_key",           "narenas", "free_list", "perturb_byte",
                                               "__malloc_initialized", NULL};
static const char *const required_tls[] = {"tcache", "thread_arena", NULL};
static const char *const optional_tls[] = {"tcache_shutting_down", NULL};

struct options {
	const char *input, *output, *debug_root, *debug_file;
	int check;
};

static void usage(FILE *out)
{
	fputs("usage: ptm-layout [--check] [--output FILE] [--debug-dir DIR] [--debug-file FILE] ELF\n"
	      "Prints the heap layout manifest (JSON) of an allocator build: libptmalloc.so, or\n"
	      "libc.so.6 whose DWARF is in a separate debug file (found by build-id or\n"
	      ".gnu_debuglink under --debug-dir, default /usr/lib/debug).\n"
	      "  --check   exit 2 and name what is missing when a field or symbol the GDB\n"
	      "            extension needs is absent\n",
	      out);
}

static void json_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static const char *kind_name(enum elf_kind kind)
{
	return kind == ELF_KIND_SHARED_OBJECT ? "shared-object"
	       : kind == ELF_KIND_EXECUTABLE  ? "executable"
	                                      : "relocatable";
}

static void print_types(FILE *out, const struct dwarf_struct_layout *layouts)
{
	fputs("  \"types\": {", out);
	int first_type = 1;
	for (size_t t = 0; t < TYPE_COUNT; t++) {
		if (!layouts[t].found)
			continue;
		fprintf(out, "%s\n    ", first_type ? "" : ",");
		json_string(out, type_names[t]);
		fprintf(out, ": {\"size\": %llu, \"fields\": {", (unsigned long long)layouts[t].size);
		for (size_t m = 0; m < layouts[t].member_count; m++) {
			const struct dwarf_member *member = &layouts[t].members[m];
			fprintf(out, "%s\n      ", m ? "," : "");
			json_string(out, member->name);
			fprintf(out, ": {\"offset\": %llu, \"size\": %llu, \"count\": %llu}",
			        (unsigned long long)member->offset, (unsigned long long)member->size,
			        (unsigned long long)member->count);
		}
		fputs("}}", out);
		first_type = 0;
	}
	fputs("\n  },\n", out);
}

static void print_symbol_group(FILE *out, const struct elf_file *elf, const char *key,
                               const char *const *required, const char *const *optional, int tls)
{
	fprintf(out, "  \"%s\": {", key);
	int first = 1;
	const char *const *lists[2] = {required, optional};
	for (int l = 0; l < 2; l++) {
		for (const char *const *name = lists[l]; *name; name++) {
			uint64_t value;
			if (elf_symbol_value(elf, *name, tls, &value) != 0)
				continue;
			fprintf(out, "%s\"%s\": %llu", first ? "" : ", ", *name, (unsigned long long)value);
			first = 0;
		}
	}
	fputs("},\n", out);
}

static void print_manifest(FILE *out, const struct elf_file *elf, const struct dwarf_struct_layout *layouts)
{
	fputs("{\n  \"build_id\": ", out);
	json_string(out, elf->build_id);
	fputs(",\n  \"file\": ", out);
	json_string(out, basename_of(elf->path));
	fprintf(out, ",\n  \"kind\": \"%s\",\n  \"debug_file\": ", kind_name(elf->kind));
	if (elf->debug_path != NULL)
		json_string(out, basename_of(elf->debug_path));
	else
		fputs("null", out);
	fputs(",\n", out);
	uint64_t address, size, align;
	fputs("  \"sections\": {", out);
	if (elf_section_address(elf->file, ".text", &address, &size) == 0)
		fprintf(out, "\".text\": {\"address\": %llu, \"size\": %llu}", (unsigned long long)address,
		        (unsigned long long)size);
	fputs("},\n", out);
	print_types(out, layouts);
	print_symbol_group(out, elf, "symbols", required_symbols, optional_symbols, 0);
	print_symbol_group(out, elf, "tls", required_tls, optional_tls, 1);
	if (elf_tls_block(elf, &address, &size, &align) == 0)
		fprintf(out, "  \"tls_segment\": {\"address\": %llu, \"size\": %llu, \"align\": %llu},\n",
		        (unsigned long long)address, (unsigned long long)size, (unsigned long long)align);
	uint64_t tcache_offset = 0, slot, offset_in_block;
	elf_symbol_value(elf, "tcache", 1, &tcache_offset);
	if (elf_tls_offset_slot(elf, tcache_offset, &slot, &offset_in_block) == 0)
		fprintf(out, "  \"tls_access\": {\"got_slot\": %llu, \"offset_in_block\": %llu},\n",
		        (unsigned long long)slot, (unsigned long long)offset_in_block);
	fputs("  \"format\": 1\n}\n", out);
}

static const struct dwarf_member *find_member(const struct dwarf_struct_layout *layout, const char *name)
{
	for (size_t m = 0; m < layout->member_count; m++)
		if (strcmp(layout->members[m].name, name) == 0)
			return &layout->members[m];
	return NULL;
}

/* Names, on one line, everything the extension needs that the file does not provide. */
static int check_complete(const struct elf_file *elf, const struct dwarf_struct_layout *layouts)
{
	char *gaps = NULL;
	size_t gaps_size = 0;
	FILE *list = open_memstream(&gaps, &gaps_size);
	if (list == NULL)
		return -1;
	int missing = 0;
	for (size_t t = 0; t < TYPE_COUNT; t++) {
		if (!layouts[t].found) {
			fprintf(list, "%s%s", missing++ ? ", " : "", type_names[t]);
			continue;
		}
		for (const char *const *field = type_fields[t]; *field; field++)
			if (find_member(&layouts[t], *field) == NULL)
				fprintf(list, "%s%s.%s", missing++ ? ", " : "", type_names[t], *field);
	}
	uint64_t value;
	for (const char *const *name = required_symbols; *name; name++)
		if (elf_symbol_value(elf, *name, 0, &value) != 0)
			fprintf(list, "%ssymbol %s", missing++ ? ", " : "", *name);
	for (const char *const *name = required_tls; *name; name++)
		if (elf_symbol_value(elf, *name, 1, &value) != 0)
			fprintf(list, "%sTLS symbol %s", missing++ ? ", " : "", *name);
	uint64_t slot, offset;
	if (elf->kind == ELF_KIND_SHARED_OBJECT && elf_tls_offset_slot(elf, 0, &slot, &offset) != 0)
		fprintf(list, "%sTLS offset slot (no initial-exec TLS relocation)", missing++ ? ", " : "");
	fclose(list);
	if (missing)
		fprintf(stderr, "ptm-layout: %s: missing: %s\n", elf->path, gaps);
	free(gaps);
	return missing;
}

static int read_layouts(const struct elf_file *elf, struct dwarf_struct_layout *layouts, char *error,
                        size_t error_size)
{
	struct dwarf_sections s = {0};
	s.info = elf_section_contents(elf->debug, ".debug_info", &s.info_size);
	s.abbrev = elf_section_contents(elf->debug, ".debug_abbrev", &s.abbrev_size);
	s.str = elf_section_contents(elf->debug, ".debug_str", &s.str_size);
	s.line_str = elf_section_contents(elf->debug, ".debug_line_str", &s.line_str_size);
	s.str_offsets = elf_section_contents(elf->debug, ".debug_str_offsets", &s.str_offsets_size);
	int result;
	if (s.info == NULL || s.abbrev == NULL) {
		snprintf(error, error_size, "cannot read .debug_info/.debug_abbrev (truncated file?)");
		result = -1;
	} else {
		result = dwarf_layout_structs(&s, type_names, TYPE_COUNT, layouts, error, error_size);
	}
	free((void *)s.info);
	free((void *)s.abbrev);
	free((void *)s.str);
	free((void *)s.line_str);
	free((void *)s.str_offsets);
	return result;
}

static int write_output(const char *path, const char *text, size_t size)
{
	if (path == NULL)
		return fwrite(text, 1, size, stdout) == size && fflush(stdout) == 0 ? 0 : -1;
	/* Never leave a half-written manifest where the extension would find it. */
	size_t temporary_size = strlen(path) + 8;
	char *temporary = malloc(temporary_size);
	if (temporary == NULL)
		return -1;
	snprintf(temporary, temporary_size, "%s.tmp", path);
	FILE *out = fopen(temporary, "w");
	int ok = out != NULL && fwrite(text, 1, size, out) == size;
	ok = (out != NULL && fclose(out) == 0) && ok;
	ok = ok && rename(temporary, path) == 0;
	if (!ok)
		remove(temporary);
	free(temporary);
	return ok ? 0 : -1;
}

static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {{"check", no_argument, NULL, 'c'},
	                                             {"output", required_argument, NULL, 'o'},
	                                             {"debug-dir", required_argument, NULL, 'd'},
	                                             {"debug-file", required_argument, NULL, 'f'},
	                                             {"help", no_argument, NULL, 'h'},
	                                             {NULL, 0, NULL, 0}};
	*options = (struct options){.debug_root = "/usr/lib/debug"};
	int option;
	while ((option = getopt_long(argc, argv, "co:d:f:h", long_options, NULL)) != -1) {
		switch (option) {
		case 'c':
			options->check = 1;
			break;
		case 'o':
			options->output = optarg;
			break;
		case 'd':
			options->debug_root = optarg;
			break;
		case 'f':
			options->debug_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return -1;
	}
	options->input = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct options options;
	if (parse_options(argc, argv, &options) != 0)
		return 1;
	char error[512];
	struct elf_file elf;
	if (elf_file_open(&elf, options.input, options.debug_root, options.debug_file, error, sizeof error) !=
	    0) {
		fprintf(stderr, "ptm-layout: %s\n", error);
		return 1;
	}
	struct dwarf_struct_layout layouts[TYPE_COUNT] = {0};
	int status = 0;
	if (read_layouts(&elf, layouts, error, sizeof error) != 0) {
		fprintf(stderr, "ptm-layout: %s: bad DWARF: %s\n", elf.debug_path ? elf.debug_path : elf.path,
		        error);
		status = 1;
	} else {
		char *text = NULL;
		size_t size = 0;
		FILE *manifest = open_memstream(&text, &size);
		if (manifest == NULL) {
			status = 1;
		} else {
			print_manifest(manifest, &elf, layouts);
			fclose(manifest);
			if (options.check && check_complete(&elf, layouts) != 0)
				status = 2;
			else if (write_output(options.output, text, size) != 0) {
				fprintf(stderr, "ptm-layout: cannot write %s\n",
				        options.output ? options.output : "the manifest");
				status = 1;
			}
			free(text);
		}
	}
	for (size_t t = 0; t < TYPE_COUNT; t++)
		dwarf_struct_layout_free(&layouts[t]);
	elf_file_close(&elf);
	return status;
}
