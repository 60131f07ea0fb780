/* Unit tests for alert.c: the hysteresis of alert_step. */
#include <check.h>
#include <stdlib.h>

#include "alert.h"

#define S(x) ((usec_t)((x)*1000000.0))

START_TEST(test_fires_only_after_hold) {
  struct alert_hyst h = {0};
  usec_t t = S(100);
  /* true for 2.8 s at 0.2 s steps: nothing */
  for (int i = 0; i < 15; i++, t += S(0.2))
    ck_assert_int_eq(alert_step(&h, true, t, S(3), S(3)), ALERT_UNCHANGED);
  ck_assert(!h.firing);
  /* 3 s after the first true observation: fired, once */
  ck_assert_int_eq(alert_step(&h, true, S(103), S(3), S(3)), ALERT_FIRED);
  ck_assert(h.firing);
  ck_assert_int_eq(alert_step(&h, true, S(104), S(3), S(3)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, true, S(200), S(3), S(3)), ALERT_UNCHANGED);
}
END_TEST

START_TEST(test_resolves_only_after_hold) {
  struct alert_hyst h = {0};
  ck_assert_int_eq(alert_step(&h, true, S(10), 0, S(2)), ALERT_FIRED);
  ck_assert_int_eq(alert_step(&h, false, S(11), 0, S(2)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, false, S(12.9), 0, S(2)), ALERT_UNCHANGED);
  ck_assert(h.firing);
  ck_assert_int_eq(alert_step(&h, false, S(13), 0, S(2)), ALERT_RESOLVED);
  ck_assert(!h.firing);
  ck_assert_int_eq(alert_step(&h, false, S(20), 0, S(2)), ALERT_UNCHANGED);
}
END_TEST

START_TEST(test_hovering_value_does_not_flap) {
  /* a value crossing its threshold every 0.2 s never holds for 1 s */
  struct alert_hyst h = {0};
  usec_t t = S(50);
  for (int i = 0; i < 200; i++, t += S(0.2))
    ck_assert_int_eq(alert_step(&h, i % 2 == 0, t, S(1), S(1)),
                     ALERT_UNCHANGED);
  ck_assert(!h.firing);

  /* once firing, the same hovering never resolves it */
  for (int i = 0; i <= 5; i++, t += S(0.2))
    alert_step(&h, true, t, S(1), S(1));
  ck_assert(h.firing);
  for (int i = 0; i < 200; i++, t += S(0.2))
    ck_assert_int_eq(alert_step(&h, i % 2 == 1, t, S(1), S(1)),
                     ALERT_UNCHANGED);
  ck_assert(h.firing);
}
END_TEST

START_TEST(test_break_restarts_clock) {
  struct alert_hyst h = {0};
  ck_assert_int_eq(alert_step(&h, true, S(0.5), S(2), S(2)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, true, S(2), S(2), S(2)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, false, S(2.2), S(2), S(2)), ALERT_UNCHANGED);
  /* the run restarts at 2.4: 4.3 is too early, 4.4 fires */
  ck_assert_int_eq(alert_step(&h, true, S(2.4), S(2), S(2)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, true, S(4.3), S(2), S(2)), ALERT_UNCHANGED);
  ck_assert_int_eq(alert_step(&h, true, S(4.4), S(2), S(2)), ALERT_FIRED);
}
END_TEST

START_TEST(test_zero_hold_is_immediate) {
  struct alert_hyst h = {0};
  ck_assert_int_eq(alert_step(&h, true, S(1), 0, 0), ALERT_FIRED);
  ck_assert_int_eq(alert_step(&h, false, S(1.2), 0, 0), ALERT_RESOLVED);
  ck_assert_int_eq(alert_step(&h, false, S(1.4), 0, 0), ALERT_UNCHANGED);
}
END_TEST

START_TEST(test_kind_names) {
  ck_assert_str_eq(alert_kind_name(ALERT_WAITING_CLIENTS), "waiting_clients");
  ck_assert_str_eq(alert_kind_name(ALERT_LEAKS), "leaks");
  ck_assert_str_eq(alert_kind_name(ALERT_CLIENT_CONN), "client_conn");
  ck_assert_str_eq(alert_kind_name(ALERT_KINDS), "unknown");
}
END_TEST

static Suite *alert_suite(void) {
  Suite *s = suite_create("alert");
  TCase *tc = tcase_create("hysteresis");
  tcase_add_test(tc, test_fires_only_after_hold);
  tcase_add_test(tc, test_resolves_only_after_hold);
  tcase_add_test(tc, test_hovering_value_does_not_flap);
  tcase_add_test(tc, test_break_restarts_clock);
  tcase_add_test(tc, test_zero_hold_is_immediate);
  tcase_add_test(tc, test_kind_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(alert_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
