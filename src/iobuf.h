/* Connection buffers: one contiguous byte range [start, end) in a block of
 * CAP bytes. Standard-size blocks come from a per-loop pool and go back
 * when empty, so idle connections hold no buffer at all. */
#ifndef PGLG_IOBUF_H
#define PGLG_IOBUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct iobuf {
	uint32_t cap;
	uint32_t start; /* first byte not yet consumed */
	uint32_t end; /* one past the last byte received/written */
	uint8_t data[];
};

struct iobuf_pool {
	uint32_t size; /* capacity of pooled blocks */
	int max_free; /* blocks kept on the free list at most */
	int nfree; /* blocks on the free list */
	int nused; /* blocks handed out and not returned */
	void *free_list; /* singly linked through the first bytes */
};

/* iobuf_pool_init prepares POOL for blocks of SIZE bytes. */
void iobuf_pool_init(struct iobuf_pool *pool, uint32_t size, int max_free);
/* iobuf_pool_destroy frees the free list; blocks still in use are the
 * holders' to return first. */
void iobuf_pool_destroy(struct iobuf_pool *pool);

/* iobuf_get returns an empty block of the pool's size, or NULL when out of
 * memory. The caller returns it with iobuf_put. */
struct iobuf *iobuf_get(struct iobuf_pool *pool);
/* iobuf_put takes back BUF (NULL is fine): pooled if of the standard
 * size, freed otherwise. */
void iobuf_put(struct iobuf_pool *pool, struct iobuf *buf);

/* iobuf_len returns how many bytes BUF holds. */
static inline uint32_t iobuf_len(const struct iobuf *buf)
{
	return buf ? buf->end - buf->start : 0;
}

/* iobuf_compact moves the held bytes to the front of the block. */
void iobuf_compact(struct iobuf *buf);

/* iobuf_reserve makes room for N more bytes at the end of *BUF: takes a
 * block from POOL if *BUF is NULL, compacts, or reallocates to a larger
 * (unpooled) block. Returns false when out of memory. */
bool iobuf_reserve(struct iobuf_pool *pool, struct iobuf **buf, uint32_t n)
	__attribute__((warn_unused_result));

/* iobuf_append copies LEN bytes at the end of *BUF, reserving as needed. */
bool iobuf_append(struct iobuf_pool *pool, struct iobuf **buf, const void *data, uint32_t len)
	__attribute__((warn_unused_result));

#endif
