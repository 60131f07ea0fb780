/* Intrusive doubly-linked lists and container_of: every object that lives
 * in a state list embeds a struct list_node. */
#ifndef PGLG_LIST_H
#define PGLG_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct list_node {
	struct list_node *prev, *next;
};

/* A list head is a node pointing at itself when empty; count kept beside. */
struct list {
	struct list_node head;
	int count;
};

static inline void list_init(struct list *l)
{
	l->head.prev = l->head.next = &l->head;
	l->count = 0;
}

static inline void list_node_init(struct list_node *n)
{
	n->prev = n->next = n;
}

static inline bool list_empty(const struct list *l)
{
	return l->head.next == &l->head;
}

static inline bool list_node_linked(const struct list_node *n)
{
	return n->next != n;
}

static inline void list_append(struct list *l, struct list_node *n)
{
	n->prev = l->head.prev;
	n->next = &l->head;
	l->head.prev->next = n;
	l->head.prev = n;
	l->count++;
}

static inline void list_prepend(struct list *l, struct list_node *n)
{
	n->next = l->head.next;
	n->prev = &l->head;
	l->head.next->prev = n;
	l->head.next = n;
	l->count++;
}

static inline void list_remove(struct list *l, struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
	l->count--;
}

static inline struct list_node *list_first(const struct list *l)
{
	return list_empty(l) ? NULL : l->head.next;
}

static inline struct list_node *list_last(const struct list *l)
{
	return list_empty(l) ? NULL : l->head.prev;
}

/* Safe against removal of the current node. */
#define list_for_each_safe(pos, tmp, l)                                                            \
	for (pos = (l)->head.next, tmp = pos->next; pos != &(l)->head; pos = tmp, tmp = pos->next)

#define list_for_each(pos, l) for (pos = (l)->head.next; pos != &(l)->head; pos = pos->next)

#endif
