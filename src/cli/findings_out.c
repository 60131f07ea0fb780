/* Query suggestions as text and JSON: see findings_out.h. */
#include "findings_out.h"
#include <inttypes.h>
#include "output.h"

void findings_out_table(FILE *out, const struct finding *f, size_t n, int width)
{
	fprintf(out, "\nQuery suggestions (most time at stake first):\n");
	if (!n) {
		fprintf(out, "  (none)\n");
		return;
	}
	fprintf(out, "     %-28s %-14s %s\n", "kind", "database", "subject");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%3zu. %-28s %-14s ", i + 1, finding_kind_name(f[i].kind),
			f[i].database ? f[i].database : "");
		cli_one_line(out, f[i].subject ? f[i].subject : "", width);
		fputc('\n', out);
		if (f[i].queryid)
			fprintf(out, "     queryid %" PRId64 ", %.1f ms at stake\n", f[i].queryid,
				f[i].impact_ms);
		else
			fprintf(out, "     %.1f ms at stake\n", f[i].impact_ms);
		fprintf(out, "     evidence: %s\n     fix: %s\n", f[i].evidence, f[i].fix);
	}
}

void findings_out_json(FILE *out, const struct finding *f, size_t n)
{
	fputs("\"query_suggestions\": [", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n  {\"kind\": \"%s\", \"queryid\": ", i ? "," : "",
			finding_kind_name(f[i].kind));
		if (f[i].queryid)
			fprintf(out, "%" PRId64, f[i].queryid);
		else
			fputs("null", out);
		fputs(", \"database\": ", out);
		cli_json_string(out, f[i].database);
		fputs(", \"subject\": ", out);
		cli_json_string(out, f[i].subject);
		fputs(", \"evidence\": ", out);
		cli_json_string(out, f[i].evidence);
		fputs(", \"fix\": ", out);
		cli_json_string(out, f[i].fix);
		fprintf(out, ", \"impact_ms\": %.3f}", f[i].impact_ms);
	}
	fputs(n ? "\n ]" : "]", out);
}
