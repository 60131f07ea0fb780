/* Periodic work: timeouts, idle servers, lifetimes, min_pool_size, the
 * reserve pool, retries after failed logins. */
#ifndef PGLG_JANITOR_H
#define PGLG_JANITOR_H

struct loop;

/* janitor_start arms the periodic timer of LOOP. */
void janitor_start(struct loop *loop);

/* janitor_run does one pass now. */
void janitor_run(struct loop *loop);

#endif
