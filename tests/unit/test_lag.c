/* Unit tests of the lag a daemon reports: a median over half a second, and
 * nothing when too few orders came to tell. */
#include <stdlib.h>

#include "check.h"
#include "lag.h"
#include "log.h"
#include "service.h"

static void wait_for_next_window(void)
{
	service_sleep_ms(520);
}

static void test_quiet_is_zero(void)
{
	struct lag l;

	lag_init(&l);
	CHECK_EQ_INT(lag_read(&l), 0);
	for (int i = 0; i < 5; i++)
		lag_note(&l, 9000); /* a few late ones (re-driven orders) are not overload */
	wait_for_next_window();
	CHECK_EQ_INT(lag_read(&l), 0);
	lag_destroy(&l);
}

static void test_median_of_a_busy_window(void)
{
	struct lag l;

	lag_init(&l);
	for (int i = 0; i < 100; i++)
		lag_note(&l, i < 60 ? 1500 : 3); /* most orders wait 1.5 s */
	lag_note(&l, 900000);                    /* one outlier does not move it */
	lag_note(&l, -5);                        /* clocks apart: counted as 0 */
	wait_for_next_window();
	CHECK_EQ_INT(lag_read(&l), 1500);
	/* the next busy window replaces it */
	for (int i = 0; i < 40; i++)
		lag_note(&l, 7);
	wait_for_next_window();
	CHECK_EQ_INT(lag_read(&l), 7);
	/* and once the orders stop, so does the lag */
	service_sleep_ms(1100);
	CHECK_EQ_INT(lag_read(&l), 0);
	lag_destroy(&l);
}

static void test_keeps_the_latest_samples(void)
{
	struct lag l;

	lag_init(&l);
	for (int i = 0; i < 3 * LAG_SAMPLES; i++)
		lag_note(&l, i < 2 * LAG_SAMPLES ? 10 : 2000);
	wait_for_next_window();
	CHECK_EQ_INT(lag_read(&l), 2000);
	lag_destroy(&l);
}

int main(void)
{
	log_init("test_lag", LOG_LEVEL_WARN);
	test_quiet_is_zero();
	test_median_of_a_busy_window();
	test_keeps_the_latest_samples();
	return check_summary("test_lag");
}
