/* Query suggestions: see findings.h. */
#include "findings.h"
#include <stdlib.h>

const char *finding_kind_name(enum finding_kind kind)
{
	switch (kind) {
	case FINDING_REPEATED:
		return "n_plus_one";
	case FINDING_TEMP_SPILL:
		return "temp_spill";
	case FINDING_CACHE_MISS:
		return "low_cache_hit_ratio";
	case FINDING_NO_LIMIT:
		return "large_result_without_limit";
	case FINDING_MANY_ROWS:
		return "many_rows_per_call";
	case FINDING_DEFEATED_INDEX:
		return "function_on_indexed_column";
	case FINDING_LONG_XACT:
		return "long_transactions";
	case FINDING_IDLE_IN_XACT:
		return "idle_in_transaction";
	}
	return "unknown";
}

int findings_run(sqlite3 *db, PGconn *conn, const struct findings_options *options,
		 struct finding **out, size_t *n, char **err)
{
	(void)db;
	(void)conn;
	(void)options;
	(void)err;
	*out = NULL;
	*n = 0;
	return 0;
}

void findings_free(struct finding *findings, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(findings[i].database);
		free(findings[i].subject);
		free(findings[i].evidence);
		free(findings[i].fix);
	}
	free(findings);
}
