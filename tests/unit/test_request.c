/*
 * test_request.c -- request.c: which request the current thread serves.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "request.h"

Test(request, op_inside_an_open_request_gets_its_id)
{
	uint64_t open = 0;
	uint8_t attr;
	uint64_t id = request_begin(&open, 100);
	cr_assert_neq(id, 0);
	cr_assert_eq(open, id);
	cr_assert_eq(request_current(150, &attr), id);
	cr_assert_eq(attr, PT_ATTR_THREAD);
	cr_assert_eq(request_end(&open), id);
	cr_assert_eq(open, 0);
	cr_assert_eq(request_current(200, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_NONE);
}

Test(request, ids_are_unique_and_keep_alive_takes_a_new_one)
{
	uint64_t open = 0;
	uint64_t a = request_begin(&open, 1);
	request_end(&open);
	uint64_t b = request_begin(&open, 2);
	cr_assert_neq(a, b);
	request_end(&open);
}

Test(request, op_begun_before_the_request_is_ambiguous)
{
	uint64_t open = 0;
	uint8_t attr;
	request_begin(&open, 100);
	cr_assert_eq(request_current(99, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_AMBIGUOUS);
	request_end(&open);
}

static void *serve_two(void *arg)
{
	(void)arg;
	uint64_t a = 0, b = 0;
	uint8_t attr;
	request_begin(&a, 1);
	request_begin(&b, 2); /* a still open: this thread multiplexes */
	uint64_t got = request_current(3, &attr);
	request_end(&b);
	request_end(&a);
	uint64_t c = 0;
	request_begin(&c, 4); /* sticky: still ambiguous afterwards */
	uint64_t later = request_current(5, &attr);
	request_end(&c);
	return (void *)(uintptr_t)(got == 0 && later == 0 &&
				   attr == PT_ATTR_AMBIGUOUS);
}

Test(request, thread_with_two_open_requests_attributes_nothing)
{
	pthread_t t;
	void *ok;
	pthread_create(&t, NULL, serve_two, NULL);
	pthread_join(t, &ok);
	cr_assert(ok);
}

static uint64_t shared_open;
static void *end_elsewhere(void *arg)
{
	(void)arg;
	request_end(&shared_open);
	return NULL;
}

Test(request, request_ended_by_another_thread_stops_attributing)
{
	uint8_t attr;
	request_begin(&shared_open, 1);
	pthread_t t;
	pthread_create(&t, NULL, end_elsewhere, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(request_current(2, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_NONE);
}

Test(request, off_gives_no_ids)
{
	uint64_t open = 0;
	uint8_t attr;
	request_enable(0);
	cr_assert_eq(request_begin(&open, 1), 0);
	cr_assert_eq(request_current(2, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_UNKNOWN);
	request_enable(1);
}
