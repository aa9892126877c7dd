/*
 * test_redis_cmds.c -- the Redis command table is sorted (redis_cmd_lookup
 * bisects it), every entry is found by its own name and nothing else is,
 * and the error and pub/sub word maps give what the decoder relies on.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "perftap/dump_format.h"
#include "redis_cmds.h"

Test(redis_cmds, table_is_sorted_in_byte_order)
{
	size_t n = redis_cmd_count();

	cr_assert_gt(n, 100, "the table lost its entries: %zu", n);
	cr_assert_lt(n, 255, "command ids must fit a uint8_t");
	for (size_t id = 2; id <= n; id++) {
		const char *a = redis_cmd_of((int)id - 1)->name;
		const char *b = redis_cmd_of((int)id)->name;
		cr_assert_lt(strcmp(a, b), 0, "%s is not before %s", a, b);
	}
}

Test(redis_cmds, lookup_finds_every_entry_by_its_name)
{
	for (size_t id = 1; id <= redis_cmd_count(); id++) {
		const char *name = redis_cmd_of((int)id)->name;
		cr_assert_eq(redis_cmd_lookup(name, strlen(name)), (int)id,
			     "%s", name);
	}
}

Test(redis_cmds, names_are_upper_case_and_have_known_specials)
{
	for (size_t id = 1; id <= redis_cmd_count(); id++) {
		const struct redis_cmd *d = redis_cmd_of((int)id);
		for (const char *c = d->name; *c; c++)
			cr_assert(*c < 'a' || *c > 'z', "%s", d->name);
		cr_assert_leq(d->special, REDIS_SP_MONITOR, "%s", d->name);
		cr_assert_eq(redis_cmd_special((int)id), d->special);
		cr_assert_eq(redis_cmd_flags((int)id), d->flags);
	}
}

Test(redis_cmds, lookup_refuses_prefixes_extensions_and_case)
{
	cr_assert_neq(redis_cmd_lookup("GET", 3), 0);
	cr_assert_eq(redis_cmd_lookup("GE", 2), 0);
	cr_assert_eq(redis_cmd_lookup("GETX", 4), 0);
	cr_assert_eq(redis_cmd_lookup("get", 3), 0);
	cr_assert_eq(redis_cmd_lookup("GET\0", 4), 0);
	cr_assert_eq(redis_cmd_lookup("", 0), 0);
	cr_assert_eq(redis_cmd_lookup("AAA", 3), 0);
	cr_assert_eq(redis_cmd_lookup("ZZZZ", 4), 0);
}

Test(redis_cmds, unknown_ids_have_no_entry)
{
	cr_assert_null(redis_cmd_of(0));
	cr_assert_null(redis_cmd_of(-1));
	cr_assert_null(redis_cmd_of((int)redis_cmd_count() + 1));
	cr_assert_eq(redis_cmd_special(0), REDIS_SP_NONE);
	cr_assert_eq(redis_cmd_flags(0), 0);
}

Test(redis_cmds, specials_and_flags_of_the_commands_the_decoder_treats_apart)
{
	int get = redis_cmd_lookup("GET", 3),
	    mget = redis_cmd_lookup("MGET", 4);

	cr_assert_eq(redis_cmd_special(redis_cmd_lookup("MULTI", 5)),
		     REDIS_SP_MULTI);
	cr_assert_eq(redis_cmd_special(redis_cmd_lookup("EXEC", 4)),
		     REDIS_SP_EXEC);
	cr_assert_eq(redis_cmd_special(redis_cmd_lookup("SUBSCRIBE", 9)),
		     REDIS_SP_SUB);
	cr_assert(redis_cmd_flags(get) & REDIS_CF_READ);
	cr_assert_eq(redis_cmd_of(get)->keypos, 1);
	cr_assert(redis_cmd_flags(mget) & REDIS_CF_MULTIKEY);
	cr_assert(redis_cmd_flags(redis_cmd_lookup("AUTH", 4)) &
		  REDIS_CF_NOARGS);
}

Test(redis_cmds, error_prefix_is_the_first_word)
{
	cr_assert_eq(redis_error_of("WRONGTYPE Operation", 19),
		     PT_REDIS_ERR_WRONGTYPE);
	cr_assert_eq(redis_error_of("ERR", 3), PT_REDIS_ERR_ERR);
	cr_assert_eq(redis_error_of("ERRX bad", 8), PT_REDIS_ERR_OTHER);
	cr_assert_eq(redis_error_of("MOVED 3999 127.0.0.1:6381", 25),
		     PT_REDIS_ERR_MOVED);
}

Test(redis_cmds, pubsub_words)
{
	cr_assert_eq(redis_pubsub_word_of("subscribe", 9), REDIS_PS_SUB);
	cr_assert_eq(redis_pubsub_word_of("sunsubscribe", 12), REDIS_PS_SUNSUB);
	cr_assert_eq(redis_pubsub_word_of("pmessage", 8), REDIS_PS_MESSAGE);
	cr_assert_eq(redis_pubsub_word_of("smessage", 8), REDIS_PS_MESSAGE);
	cr_assert_eq(redis_pubsub_word_of("subscribes", 10), REDIS_PS_NONE);
	/* unsubscribe of a kind is its subscribe + 3 (subs_update relies
	 * on it) */
	cr_assert_eq(REDIS_PS_PUNSUB, REDIS_PS_PSUB + 3);
}

Test(redis_cmds, cache_rule_counts_nil_and_elements)
{
	uint32_t h = 0, m = 0;
	unsigned get = redis_cmd_flags(redis_cmd_lookup("GET", 3));
	unsigned mget = redis_cmd_flags(redis_cmd_lookup("MGET", 4));
	unsigned exists = redis_cmd_flags(redis_cmd_lookup("EXISTS", 6));

	redis_cache_rule(get, '$', 1, 0, 0, 0, 1, &h, &m);
	cr_assert_eq(h, 0);
	cr_assert_eq(m, 1);
	redis_cache_rule(get, '$', 0, 0, 0, 0, 1, &h, &m);
	cr_assert_eq(h, 1);
	redis_cache_rule(mget, '*', 0, 0, 2, 3, 5, &h, &m);
	cr_assert_eq(h, 3);
	cr_assert_eq(m, 4);
	/* EXISTS a b c -> :5 cannot find more keys than it asked for */
	redis_cache_rule(exists, ':', 0, 5, 0, 0, 3, &h, &m);
	cr_assert_eq(h, 6);
	cr_assert_eq(m, 4);
}
