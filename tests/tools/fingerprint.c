/* fingerprint: prints the libpg_query fingerprint of each argument, as the
 * advisor looks up param_samples; for integration tests that fill that
 * store table themselves. */
#include <stdio.h>
#include <stdlib.h>
#include "advisor/samples.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *fp = samples_fingerprint(argv[i]);
		if (!fp) {
			fprintf(stderr, "fingerprint: cannot parse: %s\n", argv[i]);
			return 1;
		}
		printf("%s\n", fp);
		free(fp);
	}
	return 0;
}
