/* Unit tests for authfile.c: userlist.txt parsing and errors, secret
 * classification, and the md5 and cleartext checks against known values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authfile.h"

/* Made by PostgreSQL 15 for role "u" with password 'secret pw'. */
#define PG_SCRAM_SECRET                                                       \
	"SCRAM-SHA-256$4096:VMZI4ENO6PmHyKTU52oZIA==$"                        \
	"HMuFLYsE3C2MtKPmYxwQpBnttf3yWicQLmlUzTzVKEA=:"                        \
	"HCKXXB8x/e8s/ChMDnt8AMQTmZ9ogR4M6YoDK+YYhLw="

/* Computed with Python's hashlib: "md5" + md5("passuser"), then the salted
 * response with salt 01 02 03 04; and the same for "secret pw"/"u" with
 * salt de ad be ef. */
#define MD5_PASS_USER "md57f409a7c046daea1c2c60502d7e2becc"
#define MD5_PASS_USER_SALTED "md56cf524962d8413e6b0cdf79fddff891c"
#define MD5_SECRETPW_U "md5a3f3bb3f74698b3a0bd398403ccde793"
#define MD5_SECRETPW_U_SALTED "md550fc3e62d35cf675ec13c671a1db4ac1"

static const unsigned char salt1234[4] = {1, 2, 3, 4};
static const unsigned char salt_deadbeef[4] = {0xde, 0xad, 0xbe, 0xef};

/* parse_errors parses TEXT and returns the authfile; *MESSAGES gets what was
 * written to the error stream (caller frees). */
static struct authfile *parse_errors(const char *text, char **messages)
{
	size_t size = 0;
	FILE *errors = open_memstream(messages, &size);
	struct authfile *af;

	ck_assert_ptr_nonnull(errors);
	af = authfile_parse_string(text, "userlist.txt", errors);
	fclose(errors);
	return af;
}

/* --- parsing ----------------------------------------------------------- */

START_TEST(test_parse_basic)
{
	static const char text[] =
		"; a comment\n"
		"# another comment\n"
		"\n"
		"   \t\n"
		"\"alice\" \"wonderland\"\n"
		"  \"bob\"\t\"md57f409a7c046daea1c2c60502d7e2becc\"\n"
		"\"say \"\"hi\"\"\" \"a\"\"b\"\"\"\n"
		"\"carol\" \"c pw\" trailing \"garbage\" is ignored\n"
		"\"dave\" \"crlf\"\r\n"
		"\"u\" \"" PG_SCRAM_SECRET "\"\n"
		"\"empty\" \"\"\n"
		"  ; indented comment\n"
		"\"last\" \"no newline\"";
	char *messages = NULL;
	struct authfile *af = parse_errors(text, &messages);
	const struct authfile_entry *e;

	ck_assert_ptr_nonnull(af);
	ck_assert_str_eq(messages, "");
	ck_assert_uint_eq(af->count, 8);

	e = authfile_find(af, "alice");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->secret, "wonderland");
	ck_assert_int_eq(e->kind, SECRET_PLAIN);

	e = authfile_find(af, "bob");
	ck_assert_str_eq(e->secret, MD5_PASS_USER);
	ck_assert_int_eq(e->kind, SECRET_MD5);

	e = authfile_find(af, "say \"hi\"");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->secret, "a\"b\"");

	ck_assert_str_eq(authfile_find(af, "carol")->secret, "c pw");
	ck_assert_str_eq(authfile_find(af, "dave")->secret, "crlf");
	ck_assert_int_eq(authfile_find(af, "u")->kind, SECRET_SCRAM);
	ck_assert_str_eq(authfile_find(af, "empty")->secret, "");
	ck_assert_str_eq(authfile_find(af, "last")->secret, "no newline");

	ck_assert_ptr_null(authfile_find(af, "nobody"));
	ck_assert_ptr_null(authfile_find(af, "Alice"));
	ck_assert_ptr_null(authfile_find(af, ""));
	free(messages);
	authfile_free(af);
}
END_TEST

START_TEST(test_parse_empty_and_duplicates)
{
	char *messages = NULL;
	struct authfile *af = parse_errors("", &messages);

	ck_assert_ptr_nonnull(af);
	ck_assert_uint_eq(af->count, 0);
	ck_assert_ptr_null(authfile_find(af, "x"));
	authfile_free(af);
	free(messages);

	/* The later line wins, as in PgBouncer. */
	af = parse_errors("\"a\" \"one\"\n\"b\" \"x\"\n\"a\" \"" MD5_PASS_USER "\"\n", &messages);
	ck_assert_ptr_nonnull(af);
	ck_assert_uint_eq(af->count, 2);
	ck_assert_str_eq(authfile_find(af, "a")->secret, MD5_PASS_USER);
	ck_assert_int_eq(authfile_find(af, "a")->kind, SECRET_MD5);
	authfile_free(af);
	free(messages);

	/* Many entries (the array grows). */
	{
		char *text = malloc(100 * 40);
		char user[32];

		text[0] = '\0';
		for (int i = 0; i < 100; i++)
			sprintf(text + strlen(text), "\"user%d\" \"pw%d\"\n", i, i);
		af = parse_errors(text, &messages);
		ck_assert_uint_eq(af->count, 100);
		for (int i = 0; i < 100; i++) {
			char pw[32];

			sprintf(user, "user%d", i);
			sprintf(pw, "pw%d", i);
			ck_assert_str_eq(authfile_find(af, user)->secret, pw);
		}
		authfile_free(af);
		free(messages);
		free(text);
	}
	authfile_free(NULL);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{"\"alice\" \"ok\"\n\"bob\" \"TopSecret1\n", "userlist.txt:2: missing closing quote\n"},
		{"\"bob\" \"TopSecret1", "userlist.txt:1: missing closing quote\n"},
		{"\"bob\" \"TopSecret1\"\"\n", "userlist.txt:1: missing closing quote\n"},
		{"\n\n\"bob TopSecret1\n", "userlist.txt:3: missing closing quote\n"},
		{"bob TopSecret1\n", "userlist.txt:1: expected a quoted user name\n"},
		{"\"bob\"\n", "userlist.txt:1: expected a quoted secret after the user name\n"},
		{"\"bob\" TopSecret1\n", "userlist.txt:1: expected a quoted secret after the user name\n"},
		{"\"bob\"x\"TopSecret1\"\n", "userlist.txt:1: expected a quoted secret after the user name\n"},
		{"\"\" \"TopSecret1\"\n", "userlist.txt:1: empty user name\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *messages = NULL;
		struct authfile *af = parse_errors(cases[i].text, &messages);

		ck_assert_msg(af == NULL, "accepted case %zu", i);
		ck_assert_str_eq(messages, cases[i].message);
		ck_assert_ptr_null(strstr(messages, "TopSecret"));
		free(messages);
	}
	/* Errors may go nowhere. */
	ck_assert_ptr_null(authfile_parse_string("\"x", "f", NULL));
}
END_TEST

START_TEST(test_load)
{
	char path[] = "/tmp/check_authfile_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char *messages = NULL;
	size_t size = 0;
	FILE *errors;
	struct authfile *af;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("; users\n\"user\" \"pass\"\n\"u\" \"" PG_SCRAM_SECRET "\"\n", f);
	fclose(f);

	af = authfile_load(path, stderr);
	ck_assert_ptr_nonnull(af);
	ck_assert_uint_eq(af->count, 2);
	ck_assert_str_eq(authfile_find(af, "user")->secret, "pass");
	ck_assert_int_eq(authfile_find(af, "u")->kind, SECRET_SCRAM);
	authfile_free(af);

	/* A broken line names the file and the line. */
	f = fopen(path, "w");
	fputs("\"user\" \"pass\"\n\"bad\" \"TopSecret\n", f);
	fclose(f);
	errors = open_memstream(&messages, &size);
	ck_assert_ptr_null(authfile_load(path, errors));
	fclose(errors);
	ck_assert_ptr_nonnull(strstr(messages, path));
	ck_assert_ptr_nonnull(strstr(messages, ":2: missing closing quote"));
	ck_assert_ptr_null(strstr(messages, "TopSecret"));
	free(messages);

	/* A NUL byte in the file. */
	f = fopen(path, "w");
	fwrite("\"a\" \"b\0c\"\n", 1, 10, f);
	fclose(f);
	errors = open_memstream(&messages, &size);
	ck_assert_ptr_null(authfile_load(path, errors));
	fclose(errors);
	ck_assert_ptr_nonnull(strstr(messages, "NUL"));
	free(messages);

	unlink(path);
	errors = open_memstream(&messages, &size);
	ck_assert_ptr_null(authfile_load(path, errors));
	fclose(errors);
	ck_assert_ptr_nonnull(strstr(messages, path));
	ck_assert_ptr_nonnull(strstr(messages, "cannot open"));
	free(messages);
}
END_TEST

/* --- classification ---------------------------------------------------- */

START_TEST(test_secret_kind)
{
	ck_assert_int_eq(authfile_secret_kind("pass"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind(""), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind(MD5_PASS_USER), SECRET_MD5);
	ck_assert_int_eq(authfile_secret_kind(PG_SCRAM_SECRET), SECRET_SCRAM);
	/* Near misses are plain passwords, as in PostgreSQL. */
	ck_assert_int_eq(authfile_secret_kind("md57F409A7C046DAEA1C2C60502D7E2BECC"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("md57f409a7c046daea1c2c60502d7e2bec"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("md57f409a7c046daea1c2c60502d7e2becc0"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("md57f409a7c046daea1c2c60502d7e2becg"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("MD57f409a7c046daea1c2c60502d7e2becc"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("SCRAM-SHA-256$4096:abc"), SECRET_PLAIN);
	ck_assert_int_eq(authfile_secret_kind("SCRAM-SHA-256$4096:VMZI4ENO6PmHyKTU52oZIA==$"
					      "HMuFLYsE3C2MtKPmYxwQpBnttf3yWicQLmlUzTzVKEA="),
			 SECRET_PLAIN);
}
END_TEST

/* --- md5 --------------------------------------------------------------- */

START_TEST(test_md5_values)
{
	char hash[36], out[36];

	md5_password_hash("pass", "user", hash);
	ck_assert_str_eq(hash, MD5_PASS_USER);
	md5_salted_response(hash, salt1234, out);
	ck_assert_str_eq(out, MD5_PASS_USER_SALTED);

	md5_password_hash("secret pw", "u", out);
	ck_assert_str_eq(out, MD5_SECRETPW_U);
	md5_salted_response(MD5_SECRETPW_U, salt_deadbeef, out);
	ck_assert_str_eq(out, MD5_SECRETPW_U_SALTED);

	/* Not an md5 hash: an empty result, which matches nothing. */
	md5_salted_response("md5short", salt1234, out);
	ck_assert_str_eq(out, "");
	md5_salted_response("pass", salt1234, out);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_md5_check_response)
{
	/* Plain secret: the hash is computed from it. */
	ck_assert(md5_check_response("user", "pass", SECRET_PLAIN, salt1234, MD5_PASS_USER_SALTED));
	/* md5 secret. */
	ck_assert(md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234,
				     MD5_PASS_USER_SALTED));
	ck_assert(md5_check_response("u", MD5_SECRETPW_U, SECRET_MD5, salt_deadbeef,
				     MD5_SECRETPW_U_SALTED));
	ck_assert(md5_check_response("u", "secret pw", SECRET_PLAIN, salt_deadbeef,
				     MD5_SECRETPW_U_SALTED));

	/* Wrong salt, user, password, response shape. */
	ck_assert(!md5_check_response("user", "pass", SECRET_PLAIN, salt_deadbeef,
				      MD5_PASS_USER_SALTED));
	ck_assert(!md5_check_response("userx", "pass", SECRET_PLAIN, salt1234,
				      MD5_PASS_USER_SALTED));
	ck_assert(!md5_check_response("user", "passx", SECRET_PLAIN, salt1234,
				      MD5_PASS_USER_SALTED));
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234,
				      "md56cf524962d8413e6b0cdf79fddff891d"));
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234,
				      MD5_PASS_USER_SALTED "0"));
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234,
				      "md56cf524962d8413e6b0cdf79fddff891"));
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234, ""));
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234, NULL));
	/* The client sending the stored hash itself is not the response. */
	ck_assert(!md5_check_response("user", MD5_PASS_USER, SECRET_MD5, salt1234, MD5_PASS_USER));
	/* No md5 response can be checked against a SCRAM secret. */
	ck_assert(!md5_check_response("u", PG_SCRAM_SECRET, SECRET_SCRAM, salt_deadbeef,
				      MD5_SECRETPW_U_SALTED));
	/* An empty password never matches. */
	{
		char hash[36], response[36];

		md5_password_hash("", "user", hash);
		md5_salted_response(hash, salt1234, response);
		ck_assert(!md5_check_response("user", "", SECRET_PLAIN, salt1234, response));
	}
}
END_TEST

/* --- cleartext --------------------------------------------------------- */

START_TEST(test_plain_check_password)
{
	ck_assert(plain_check_password("user", "pass", SECRET_PLAIN, "pass"));
	ck_assert(!plain_check_password("user", "pass", SECRET_PLAIN, "pass "));
	ck_assert(!plain_check_password("user", "pass", SECRET_PLAIN, "pas"));
	ck_assert(!plain_check_password("user", "pass", SECRET_PLAIN, "Pass"));
	ck_assert(!plain_check_password("user", "", SECRET_PLAIN, ""));
	ck_assert(!plain_check_password("user", "pass", SECRET_PLAIN, ""));
	ck_assert(!plain_check_password("user", "pass", SECRET_PLAIN, NULL));

	ck_assert(plain_check_password("user", MD5_PASS_USER, SECRET_MD5, "pass"));
	ck_assert(!plain_check_password("user", MD5_PASS_USER, SECRET_MD5, "pas"));
	ck_assert(!plain_check_password("other", MD5_PASS_USER, SECRET_MD5, "pass"));
	ck_assert(!plain_check_password("user", MD5_PASS_USER, SECRET_MD5, MD5_PASS_USER));

	ck_assert(plain_check_password("u", PG_SCRAM_SECRET, SECRET_SCRAM, "secret pw"));
	ck_assert(!plain_check_password("u", PG_SCRAM_SECRET, SECRET_SCRAM, "secret pW"));
	ck_assert(!plain_check_password("u", PG_SCRAM_SECRET, SECRET_SCRAM, "secret pw "));
	ck_assert(!plain_check_password("u", PG_SCRAM_SECRET, SECRET_SCRAM, PG_SCRAM_SECRET));
	/* A SCRAM secret does not depend on the user name. */
	ck_assert(plain_check_password("someone", PG_SCRAM_SECRET, SECRET_SCRAM, "secret pw"));
	ck_assert(!plain_check_password("u", "SCRAM-SHA-256$broken", SECRET_SCRAM, "secret pw"));
}
END_TEST

static Suite *authfile_suite(void)
{
	Suite *s = suite_create("authfile");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_basic);
	tcase_add_test(tc, test_parse_empty_and_duplicates);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_secret_kind);
	tcase_add_test(tc, test_md5_values);
	tcase_add_test(tc, test_md5_check_response);
	tcase_add_test(tc, test_plain_check_password);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(authfile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
