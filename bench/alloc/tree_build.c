/*
 * A program that spends its life in malloc: the "binary trees" pattern.  A long-lived tree is
 * kept while many short-lived complete trees of growing depth are built, walked and freed; each
 * node also owns a small label string, so two size classes interleave.  Almost all of its time is
 * malloc and free, like a compiler's or interpreter's object graph.
 */
#include <string.h>

#include "workload.h"

struct node {
	struct node *left, *right;
	char *label;
};

static struct node *build(int depth, struct rng *rng)
{
	struct node *node = malloc(sizeof(*node));
	if (!node)
		die_out_of_memory("tree_build");
	size_t length = 8 + rng_below(rng, 24);
	node->label = malloc(length);
	if (!node->label)
		die_out_of_memory("tree_build");
	memset(node->label, 'a' + depth, length - 1);
	node->label[length - 1] = '\0';
	if (depth > 0) {
		node->left = build(depth - 1, rng);
		node->right = build(depth - 1, rng);
	} else {
		node->left = node->right = NULL;
	}
	return node;
}

/* Counts and frees in one pass, the way a program tears down a structure it owns. */
static uint64_t check_and_free(struct node *node)
{
	if (!node)
		return 0;
	uint64_t sum = 1 + (unsigned char)node->label[0];
	sum += check_and_free(node->left);
	sum += check_and_free(node->right);
	free(node->label);
	free(node);
	return sum;
}

int main(int argc, char **argv)
{
	double scale = workload_scale(argc, argv);
	int max_depth = 16;
	struct rng rng = {0x94D049BB133111EBULL};
	struct node *long_lived = build(max_depth, &rng);
	uint64_t checksum = 0;
	for (int depth = 4; depth <= max_depth; depth += 2) {
		long iterations = (long)((1L << (max_depth - depth + 4)) * scale);
		for (long i = 0; i < iterations; i++)
			checksum += check_and_free(build(depth, &rng));
	}
	checksum += check_and_free(long_lived);
	printf("tree_build depth %d checksum %llu\n", max_depth, (unsigned long long)checksum);
	return 0;
}
