/*
 * redis_cmds.h -- what the Redis decoder (proto_redis*.c) and the hiredis
 * hooks know about Redis commands and replies: the command table (name,
 * first key's position, special handling, flags), the error prefixes, the
 * pub/sub words, and the cache rule.  Pure tables and lookups: no state.
 *
 * Command ids are table index + 1, 0 for a command the table does not
 * know; they fit a uint8_t (proto_redis_entry.cmd).
 */
#ifndef PERFTAP_REDIS_CMDS_H
#define PERFTAP_REDIS_CMDS_H

#include <stddef.h>
#include <stdint.h>

enum redis_cmd_flag {
	REDIS_CF_READ = 1 << 0,	    /* cache read: nil is a miss */
	REDIS_CF_MULTIKEY = 1 << 1, /* every argument is a key */
	REDIS_CF_PAIRS = 1 << 2,    /* key value pairs (MSET) */
	REDIS_CF_BLOCK = 1 << 3,    /* blocking command */
	REDIS_CF_SUBCMD = 1 << 4,   /* text is "CMD SUB" */
	REDIS_CF_NOARGS = 1 << 5,   /* never look at the arguments (AUTH) */
	REDIS_CF_PERELEM = 1 << 6,  /* cache: one hit/miss per reply element */
	REDIS_CF_EMPTY_MISS = 1 << 7, /* cache: empty aggregate is a miss */
	REDIS_CF_COUNT = 1 << 8,      /* cache: integer reply = keys found */
	REDIS_CF_XREAD =
	    1 << 9, /* key after STREAMS; BLOCK makes it blocking */
	REDIS_CF_EVAL = 1 << 10, /* key at argument 3 when numkeys > 0 */
};

enum redis_cmd_special {
	REDIS_SP_NONE = 0,
	REDIS_SP_MULTI,
	REDIS_SP_EXEC,
	REDIS_SP_DISCARD,
	REDIS_SP_SELECT,
	REDIS_SP_HELLO,
	REDIS_SP_SUB,
	REDIS_SP_UNSUB,
	REDIS_SP_RESET,
	REDIS_SP_MONITOR,
};

struct redis_cmd {
	const char *name; /* upper case */
	uint8_t keypos;	  /* argument index of the first key; 0 = none */
	uint8_t special;  /* enum redis_cmd_special */
	uint16_t flags;	  /* enum redis_cmd_flag */
};

/* Pub/sub words in the first element of a RESP2 array or RESP3 push. */
enum redis_pubsub_word {
	REDIS_PS_NONE = -1,
	REDIS_PS_SUB = 0, /* +3: unsubscribe of the same kind */
	REDIS_PS_PSUB = 1,
	REDIS_PS_SSUB = 2,
	REDIS_PS_UNSUB = 3,
	REDIS_PS_PUNSUB = 4,
	REDIS_PS_SUNSUB = 5,
	REDIS_PS_MESSAGE = 6,
};

/* Commands in the table; ids run 1 .. redis_cmd_count(). */
size_t redis_cmd_count(void);

/* The command with id, or NULL for 0 and ids past the table. */
const struct redis_cmd *redis_cmd_of(int id);

/* The id of name[0..n) (upper case, exact; may hold NUL bytes), 0 when
 * the table does not know it.  Bisects: the table is sorted by name in
 * byte order. */
int redis_cmd_lookup(const char *name, size_t n);

/* id's enum redis_cmd_special and enum redis_cmd_flag bits (0 and
 * REDIS_SP_NONE for an unknown id). */
int redis_cmd_special(int id);
unsigned redis_cmd_flags(int id);

/* The enum pt_redis_error (dump_format.h) of an error line's first word
 * (w[0..n) up to the first space); PT_REDIS_ERR_OTHER when unknown. */
int redis_error_of(const char *w, size_t n);

/* The enum redis_pubsub_word of w[0..n) (lower case), REDIS_PS_NONE if
 * it is none. */
int redis_pubsub_word_of(const char *w, size_t n);

/* The cache rule, for one successful reply of type byte `type` (nil: a
 * null; ival: its value if an integer; hits/misses: its elements, non-nil
 * and nil) to a command of flags f touching `rows` keys.  Adds to *h, *m.
 * Used for top-level replies and for each element of EXEC's array alike. */
void redis_cache_rule(unsigned f, uint8_t type, int nil, int64_t ival,
		      uint32_t hits, uint32_t misses, uint32_t rows,
		      uint32_t *h, uint32_t *m);

#endif /* PERFTAP_REDIS_CMDS_H */
