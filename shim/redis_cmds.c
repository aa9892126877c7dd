/*
 * redis_cmds.c -- what the Redis decoder knows about commands and replies:
 * the command table and its lookups, the error prefixes, the pub/sub
 * words, and the cache rule (redis_cmds.h).
 *
 * Sections:
 *   1. the command table
 *   2. helpers
 *   3. public functions
 */
#include "redis_cmds.h"

#include <string.h>

#include "perftap/dump_format.h"

/* ---- 1. the command table ------------------------------------------------ */

/* Entry cmd ids are index + 1 (0 = unknown), so at most 254 entries.
 * Kept sorted by name in byte order (strcmp): redis_cmd_lookup bisects. */
static const struct redis_cmd cmd_table[] = {
    {"ACL", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"APPEND", 1, REDIS_SP_NONE, 0},
    {"AUTH", 0, REDIS_SP_NONE, REDIS_CF_NOARGS},
    {"BGSAVE", 0, REDIS_SP_NONE, 0},
    {"BITCOUNT", 1, REDIS_SP_NONE, 0},
    {"BLMOVE", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BLMPOP", 3, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BLPOP", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BRPOP", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BRPOPLPUSH", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BZMPOP", 3, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BZPOPMAX", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"BZPOPMIN", 1, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"CLIENT", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"CLUSTER", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"COMMAND", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"CONFIG", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"COPY", 1, REDIS_SP_NONE, 0},
    {"DBSIZE", 0, REDIS_SP_NONE, 0},
    {"DEBUG", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"DECR", 1, REDIS_SP_NONE, 0},
    {"DECRBY", 1, REDIS_SP_NONE, 0},
    {"DEL", 1, REDIS_SP_NONE, REDIS_CF_MULTIKEY},
    {"DISCARD", 0, REDIS_SP_DISCARD, 0},
    {"DUMP", 1, REDIS_SP_NONE, 0},
    {"ECHO", 0, REDIS_SP_NONE, 0},
    {"EVAL", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"EVALSHA", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"EVALSHA_RO", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"EVAL_RO", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"EXEC", 0, REDIS_SP_EXEC, 0},
    {"EXISTS", 1, REDIS_SP_NONE, REDIS_CF_MULTIKEY | REDIS_CF_COUNT},
    {"EXPIRE", 1, REDIS_SP_NONE, 0},
    {"EXPIREAT", 1, REDIS_SP_NONE, 0},
    {"FCALL", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"FCALL_RO", 0, REDIS_SP_NONE, REDIS_CF_EVAL},
    {"FLUSHALL", 0, REDIS_SP_NONE, 0},
    {"FLUSHDB", 0, REDIS_SP_NONE, 0},
    {"FUNCTION", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"GET", 1, REDIS_SP_NONE, REDIS_CF_READ},
    {"GETBIT", 1, REDIS_SP_NONE, 0},
    {"GETDEL", 1, REDIS_SP_NONE, REDIS_CF_READ},
    {"GETEX", 1, REDIS_SP_NONE, REDIS_CF_READ},
    {"GETRANGE", 1, REDIS_SP_NONE, 0},
    {"GETSET", 1, REDIS_SP_NONE, 0},
    {"HDEL", 1, REDIS_SP_NONE, 0},
    {"HELLO", 0, REDIS_SP_HELLO, 0},
    {"HEXISTS", 1, REDIS_SP_NONE, REDIS_CF_COUNT},
    {"HGET", 1, REDIS_SP_NONE, REDIS_CF_READ},
    {"HGETALL", 1, REDIS_SP_NONE, REDIS_CF_READ | REDIS_CF_EMPTY_MISS},
    {"HINCRBY", 1, REDIS_SP_NONE, 0},
    {"HINCRBYFLOAT", 1, REDIS_SP_NONE, 0},
    {"HKEYS", 1, REDIS_SP_NONE, 0},
    {"HLEN", 1, REDIS_SP_NONE, 0},
    {"HMGET", 1, REDIS_SP_NONE, REDIS_CF_READ | REDIS_CF_PERELEM},
    {"HMSET", 1, REDIS_SP_NONE, 0},
    {"HSCAN", 1, REDIS_SP_NONE, 0},
    {"HSET", 1, REDIS_SP_NONE, 0},
    {"HSETNX", 1, REDIS_SP_NONE, 0},
    {"HVALS", 1, REDIS_SP_NONE, 0},
    {"INCR", 1, REDIS_SP_NONE, 0},
    {"INCRBY", 1, REDIS_SP_NONE, 0},
    {"INCRBYFLOAT", 1, REDIS_SP_NONE, 0},
    {"INFO", 0, REDIS_SP_NONE, 0},
    {"KEYS", 1, REDIS_SP_NONE, 0},
    {"LASTSAVE", 0, REDIS_SP_NONE, 0},
    {"LATENCY", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"LINDEX", 1, REDIS_SP_NONE, REDIS_CF_READ},
    {"LINSERT", 1, REDIS_SP_NONE, 0},
    {"LLEN", 1, REDIS_SP_NONE, 0},
    {"LMOVE", 1, REDIS_SP_NONE, 0},
    {"LMPOP", 2, REDIS_SP_NONE, 0},
    {"LPOP", 1, REDIS_SP_NONE, 0},
    {"LPOS", 1, REDIS_SP_NONE, 0},
    {"LPUSH", 1, REDIS_SP_NONE, 0},
    {"LPUSHX", 1, REDIS_SP_NONE, 0},
    {"LRANGE", 1, REDIS_SP_NONE, 0},
    {"LREM", 1, REDIS_SP_NONE, 0},
    {"LSET", 1, REDIS_SP_NONE, 0},
    {"LTRIM", 1, REDIS_SP_NONE, 0},
    {"MEMORY", 2, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"MGET", 1, REDIS_SP_NONE,
     REDIS_CF_READ | REDIS_CF_PERELEM | REDIS_CF_MULTIKEY},
    {"MODULE", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"MONITOR", 0, REDIS_SP_MONITOR, 0},
    {"MSET", 1, REDIS_SP_NONE, REDIS_CF_PAIRS},
    {"MSETNX", 1, REDIS_SP_NONE, REDIS_CF_PAIRS},
    {"MULTI", 0, REDIS_SP_MULTI, 0},
    {"OBJECT", 2, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"PERSIST", 1, REDIS_SP_NONE, 0},
    {"PEXPIRE", 1, REDIS_SP_NONE, 0},
    {"PEXPIREAT", 1, REDIS_SP_NONE, 0},
    {"PFADD", 1, REDIS_SP_NONE, 0},
    {"PFCOUNT", 1, REDIS_SP_NONE, 0},
    {"PFMERGE", 1, REDIS_SP_NONE, 0},
    {"PING", 0, REDIS_SP_NONE, 0},
    {"PSETEX", 1, REDIS_SP_NONE, 0},
    {"PSUBSCRIBE", 0, REDIS_SP_SUB, 0},
    {"PTTL", 1, REDIS_SP_NONE, 0},
    {"PUBLISH", 1, REDIS_SP_NONE, 0},
    {"PUBSUB", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"PUNSUBSCRIBE", 0, REDIS_SP_UNSUB, 0},
    {"QUIT", 0, REDIS_SP_NONE, 0},
    {"RANDOMKEY", 0, REDIS_SP_NONE, 0},
    {"RENAME", 1, REDIS_SP_NONE, 0},
    {"RENAMENX", 1, REDIS_SP_NONE, 0},
    {"RESET", 0, REDIS_SP_RESET, 0},
    {"RESTORE", 1, REDIS_SP_NONE, 0},
    {"RPOP", 1, REDIS_SP_NONE, 0},
    {"RPOPLPUSH", 1, REDIS_SP_NONE, 0},
    {"RPUSH", 1, REDIS_SP_NONE, 0},
    {"RPUSHX", 1, REDIS_SP_NONE, 0},
    {"SADD", 1, REDIS_SP_NONE, 0},
    {"SAVE", 0, REDIS_SP_NONE, 0},
    {"SCAN", 0, REDIS_SP_NONE, 0},
    {"SCARD", 1, REDIS_SP_NONE, 0},
    {"SCRIPT", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"SDIFF", 1, REDIS_SP_NONE, 0},
    {"SDIFFSTORE", 1, REDIS_SP_NONE, 0},
    {"SELECT", 0, REDIS_SP_SELECT, 0},
    {"SET", 1, REDIS_SP_NONE, 0},
    {"SETBIT", 1, REDIS_SP_NONE, 0},
    {"SETEX", 1, REDIS_SP_NONE, 0},
    {"SETNX", 1, REDIS_SP_NONE, 0},
    {"SETRANGE", 1, REDIS_SP_NONE, 0},
    {"SINTER", 1, REDIS_SP_NONE, 0},
    {"SINTERSTORE", 1, REDIS_SP_NONE, 0},
    {"SISMEMBER", 1, REDIS_SP_NONE, 0},
    {"SLOWLOG", 0, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"SMEMBERS", 1, REDIS_SP_NONE, REDIS_CF_READ | REDIS_CF_EMPTY_MISS},
    {"SMISMEMBER", 1, REDIS_SP_NONE, 0},
    {"SMOVE", 1, REDIS_SP_NONE, 0},
    {"SORT", 1, REDIS_SP_NONE, 0},
    {"SPOP", 1, REDIS_SP_NONE, 0},
    {"SPUBLISH", 1, REDIS_SP_NONE, 0},
    {"SRANDMEMBER", 1, REDIS_SP_NONE, 0},
    {"SREM", 1, REDIS_SP_NONE, 0},
    {"SSCAN", 1, REDIS_SP_NONE, 0},
    {"SSUBSCRIBE", 0, REDIS_SP_SUB, 0},
    {"STRLEN", 1, REDIS_SP_NONE, 0},
    {"SUBSCRIBE", 0, REDIS_SP_SUB, 0},
    {"SUNION", 1, REDIS_SP_NONE, 0},
    {"SUNIONSTORE", 1, REDIS_SP_NONE, 0},
    {"SUNSUBSCRIBE", 0, REDIS_SP_UNSUB, 0},
    {"SWAPDB", 0, REDIS_SP_NONE, 0},
    {"TIME", 0, REDIS_SP_NONE, 0},
    {"TOUCH", 1, REDIS_SP_NONE, REDIS_CF_MULTIKEY},
    {"TTL", 1, REDIS_SP_NONE, 0},
    {"TYPE", 1, REDIS_SP_NONE, 0},
    {"UNLINK", 1, REDIS_SP_NONE, REDIS_CF_MULTIKEY},
    {"UNSUBSCRIBE", 0, REDIS_SP_UNSUB, 0},
    {"UNWATCH", 0, REDIS_SP_NONE, 0},
    {"WAIT", 0, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"WAITAOF", 0, REDIS_SP_NONE, REDIS_CF_BLOCK},
    {"WATCH", 1, REDIS_SP_NONE, REDIS_CF_MULTIKEY},
    {"XACK", 1, REDIS_SP_NONE, 0},
    {"XADD", 1, REDIS_SP_NONE, 0},
    {"XAUTOCLAIM", 1, REDIS_SP_NONE, 0},
    {"XCLAIM", 1, REDIS_SP_NONE, 0},
    {"XDEL", 1, REDIS_SP_NONE, 0},
    {"XGROUP", 2, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"XINFO", 2, REDIS_SP_NONE, REDIS_CF_SUBCMD},
    {"XLEN", 1, REDIS_SP_NONE, 0},
    {"XPENDING", 1, REDIS_SP_NONE, 0},
    {"XRANGE", 1, REDIS_SP_NONE, 0},
    {"XREAD", 0, REDIS_SP_NONE, REDIS_CF_XREAD},
    {"XREADGROUP", 0, REDIS_SP_NONE, REDIS_CF_XREAD},
    {"XREVRANGE", 1, REDIS_SP_NONE, 0},
    {"XTRIM", 1, REDIS_SP_NONE, 0},
    {"ZADD", 1, REDIS_SP_NONE, 0},
    {"ZCARD", 1, REDIS_SP_NONE, 0},
    {"ZCOUNT", 1, REDIS_SP_NONE, 0},
    {"ZINCRBY", 1, REDIS_SP_NONE, 0},
    {"ZMSCORE", 1, REDIS_SP_NONE, 0},
    {"ZPOPMAX", 1, REDIS_SP_NONE, 0},
    {"ZPOPMIN", 1, REDIS_SP_NONE, 0},
    {"ZRANGE", 1, REDIS_SP_NONE, 0},
    {"ZRANGEBYSCORE", 1, REDIS_SP_NONE, 0},
    {"ZRANK", 1, REDIS_SP_NONE, 0},
    {"ZREM", 1, REDIS_SP_NONE, 0},
    {"ZREMRANGEBYRANK", 1, REDIS_SP_NONE, 0},
    {"ZREMRANGEBYSCORE", 1, REDIS_SP_NONE, 0},
    {"ZREVRANGE", 1, REDIS_SP_NONE, 0},
    {"ZREVRANGEBYSCORE", 1, REDIS_SP_NONE, 0},
    {"ZREVRANK", 1, REDIS_SP_NONE, 0},
    {"ZSCAN", 1, REDIS_SP_NONE, 0},
    {"ZSCORE", 1, REDIS_SP_NONE, REDIS_CF_READ},
};

#define CMD_COUNT (sizeof(cmd_table) / sizeof(cmd_table[0]))

_Static_assert(CMD_COUNT < 255, "entry cmd ids are uint8_t");

/* ---- 2. helpers ---------------------------------------------------------- */

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

/* Byte-order comparison of name[0..n) (may hold NUL) with lit, as
 * strcmp would order them. */
static int name_cmp(const char *name, size_t n, const char *lit)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)name[i];
		unsigned char b = (unsigned char)lit[i];
		if (b == '\0') /* lit is a proper prefix: name sorts after */
			return 1;
		if (a != b)
			return a < b ? -1 : 1;
	}
	return lit[n] == '\0' ? 0 : -1;
}

/* ---- 3. public functions ------------------------------------------------- */

size_t redis_cmd_count(void)
{
	return CMD_COUNT;
}

const struct redis_cmd *redis_cmd_of(int id)
{
	return (id > 0 && (size_t)id <= CMD_COUNT) ? &cmd_table[id - 1] : NULL;
}

int redis_cmd_lookup(const char *name, size_t n)
{
	size_t lo = 0, hi = CMD_COUNT;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, n, cmd_table[mid].name);
		if (c == 0)
			return (int)mid + 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

int redis_cmd_special(int id)
{
	const struct redis_cmd *d = redis_cmd_of(id);
	return d ? d->special : REDIS_SP_NONE;
}

unsigned redis_cmd_flags(int id)
{
	const struct redis_cmd *d = redis_cmd_of(id);
	return d ? d->flags : 0;
}

int redis_error_of(const char *w, size_t n)
{
	static const struct {
		const char *word;
		int code;
	} map[] = {
	    {"ERR", PT_REDIS_ERR_ERR},
	    {"WRONGTYPE", PT_REDIS_ERR_WRONGTYPE},
	    {"MOVED", PT_REDIS_ERR_MOVED},
	    {"ASK", PT_REDIS_ERR_ASK},
	    {"NOSCRIPT", PT_REDIS_ERR_NOSCRIPT},
	    {"BUSY", PT_REDIS_ERR_BUSY},
	    {"READONLY", PT_REDIS_ERR_READONLY},
	    {"NOAUTH", PT_REDIS_ERR_NOAUTH},
	    {"NOPERM", PT_REDIS_ERR_NOPERM},
	    {"OOM", PT_REDIS_ERR_OOM},
	    {"EXECABORT", PT_REDIS_ERR_EXECABORT},
	    {"LOADING", PT_REDIS_ERR_LOADING},
	    {"WRONGPASS", PT_REDIS_ERR_WRONGPASS},
	};
	size_t k = 0;

	while (k < n && w[k] != ' ')
		k++;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (word_is(w, k, map[i].word))
			return map[i].code;
	return PT_REDIS_ERR_OTHER;
}

int redis_pubsub_word_of(const char *w, size_t n)
{
	static const char *const words[] = {
	    "subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
	    "punsubscribe", "sunsubscribe", "message",
	};
	for (int i = 0; i < 7; i++)
		if (word_is(w, n, words[i]))
			return i;
	if (word_is(w, n, "pmessage") || word_is(w, n, "smessage"))
		return REDIS_PS_MESSAGE;
	return REDIS_PS_NONE;
}

/* The cache rule, for one successful reply of type byte `type` (nil: a
 * null; ival: its value if an integer; hits/misses: its elements, non-nil
 * and nil) to a command of flags f touching `rows` keys.  Adds to *h, *m.
 * Used for top-level replies and for each element of EXEC's array alike. */
void redis_cache_rule(unsigned f, uint8_t type, int nil, int64_t ival,
		      uint32_t hits, uint32_t misses, uint32_t rows,
		      uint32_t *h, uint32_t *m)
{
	int agg = type == '*' || type == '~' || type == '%';

	if (f & REDIS_CF_COUNT) {
		uint64_t hit = ival < 0 ? 0 : (uint64_t)ival;

		if (hit > rows)
			hit = rows;
		*h += (uint32_t)hit;
		*m += rows - (uint32_t)hit;
	} else if ((f & REDIS_CF_PERELEM) && agg) {
		*h += hits;
		*m += misses;
	} else if (f & REDIS_CF_EMPTY_MISS) {
		int miss = nil || (agg && hits + misses == 0);

		*h += !miss;
		*m += miss;
	} else if (f & REDIS_CF_READ) {
		*h += !nil;
		*m += nil != 0;
	}
}
