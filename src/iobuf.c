/* Pooled, growable connection buffers. */
#include "iobuf.h"

#include <stdlib.h>
#include <string.h>

void iobuf_pool_init(struct iobuf_pool *pool, uint32_t size, int max_free)
{
	memset(pool, 0, sizeof(*pool));
	pool->size = size;
	pool->max_free = max_free;
}

void iobuf_pool_destroy(struct iobuf_pool *pool)
{
	while (pool->free_list) {
		void *next = *(void **)pool->free_list;
		free(pool->free_list);
		pool->free_list = next;
	}
	pool->nfree = 0;
}

static struct iobuf *iobuf_alloc(uint32_t cap)
{
	struct iobuf *buf = malloc(sizeof(struct iobuf) + cap);
	if (!buf)
		return NULL;
	buf->cap = cap;
	buf->start = buf->end = 0;
	return buf;
}

struct iobuf *iobuf_get(struct iobuf_pool *pool)
{
	struct iobuf *buf;

	if (pool->free_list) {
		buf = pool->free_list;
		pool->free_list = *(void **)buf;
		pool->nfree--;
		buf->cap = pool->size;
	} else {
		buf = iobuf_alloc(pool->size);
		if (!buf)
			return NULL;
	}
	buf->start = buf->end = 0;
	pool->nused++;
	return buf;
}

void iobuf_put(struct iobuf_pool *pool, struct iobuf *buf)
{
	if (!buf)
		return;
	pool->nused--;
	if (buf->cap != pool->size || pool->nfree >= pool->max_free) {
		free(buf);
		return;
	}
	*(void **)buf = pool->free_list;
	pool->free_list = buf;
	pool->nfree++;
}

void iobuf_compact(struct iobuf *buf)
{
	if (buf->start == 0)
		return;
	memmove(buf->data, buf->data + buf->start, buf->end - buf->start);
	buf->end -= buf->start;
	buf->start = 0;
}

bool iobuf_reserve(struct iobuf_pool *pool, struct iobuf **bufp, uint32_t n)
{
	struct iobuf *buf = *bufp;

	if (!buf) {
		buf = iobuf_get(pool);
		if (!buf)
			return false;
		*bufp = buf;
	}
	if (buf->cap - buf->end >= n)
		return true;
	if (buf->cap - (buf->end - buf->start) >= n) {
		iobuf_compact(buf);
		return true;
	}
	uint64_t need = (uint64_t)(buf->end - buf->start) + n;
	uint64_t cap = buf->cap;
	while (cap < need)
		cap *= 2;
	if (cap > UINT32_MAX - sizeof(struct iobuf))
		return false;
	struct iobuf *bigger = iobuf_alloc((uint32_t)cap);
	if (!bigger)
		return false;
	memcpy(bigger->data, buf->data + buf->start, buf->end - buf->start);
	bigger->end = buf->end - buf->start;
	/* the old block is counted as used; the new one takes its place */
	pool->nused++;
	iobuf_put(pool, buf);
	*bufp = bigger;
	return true;
}

bool iobuf_append(struct iobuf_pool *pool, struct iobuf **bufp, const void *data, uint32_t len)
{
	if (!iobuf_reserve(pool, bufp, len))
		return false;
	memcpy((*bufp)->data + (*bufp)->end, data, len);
	(*bufp)->end += len;
	return true;
}
