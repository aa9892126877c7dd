/*
 * normalize.c -- id-like segments, and Redis key patterns.
 *
 * The SQL fingerprint lives in normalize_sql.c and HTTP routes in
 * normalize_route.c; this file holds what keys and routes share: the test
 * that says whether one segment of a key or a path is an identifier (a
 * value, perhaps personal) or a namespace word (part of the schema).
 *
 * A segment is id-like (becomes `*` in a key, `{id}` in a route) when:
 *   1. it holds a byte outside [A-Za-z0-9_.-]: `@` (emails), `%`
 *      (percent-encoding), `+` `=` `/` (base64), spaces, `{`, glob
 *      characters, any non-ASCII (unicode) or control byte;
 *   2. it is 40 bytes or longer;
 *   3. it has no digit: only when 16 bytes or longer with both cases
 *      (base64-like); words stay;
 *   4. it has digits and no letter: numbers, dates, IPs, `-5`, `1.5`;
 *   5. it has 4 digits or more: FIR-1a2b3c4d-20260115093000, UUIDs,
 *      hashes, user1234, 2026-01-15;
 *   6. it is all hex and 8 long or more (with a digit): deadbee1;
 *   7. it is 16 long or more with a digit: tokens;
 *   8. it ends in `_` or `-` then digits: user_42, page-2 (a word and a
 *      number glued together is a number; `v1`, `sha256`, `utf8mb4`,
 *      `oauth2` stay);
 *   9. (positional) it follows an id-taking word: user(s), session(s),
 *      record(s), uid, id(s), email, token, account(s), customer(s),
 *      complaint(s) -- so that fir:user:alice:limit:10 keeps no name.
 * What stays is lower/snake/kebab-case words with at most 3 digits that
 * do not end in a separated number: fir, record, stats, count_by_status,
 * model_responses, gguf, response, v1, api, list_firs.
 * Note: a plain word that is really a name and follows no id-taking word
 * (fir:owner:alice) is kept; a route table or key naming fixes that.
 *
 * Redis keys: segments are split on `:`, `/` and `|` (the separators keep
 * their place); `.` `-` `_` do not split (they are part of emails, FIR
 * numbers, hostnames).  An id-like segment becomes `*`, a KEYS glob
 * segment (`*`) stays `*`, and a run of id-like segments becomes one `*`
 * (fir:list:2026-01-15 09:30:00 -> fir:list:*): an id holding a
 * separator (time, IPv6, URL) must not split one pattern into many.
 *
 * Contract: as normalize.h: no allocation, no globals, no locale, O(len).
 */
#include "normalize.h"

#include <string.h>

/* Segments this long are ids whatever they hold. */
#define SEG_LONG 40
/* Hex runs from this length are ids (a CRC32 is 8). */
#define SEG_HEX_MIN 8
/* Tokens from this length are ids when they mix in digits or cases. */
#define SEG_TOKEN_MIN 16
/* This many digits make an id (years, FIR numbers, user1234). */
#define SEG_DIGITS_MIN 4

/* Byte classes for pt_segment_is_id: 0 means a byte outside
 * [A-Za-z0-9_.-] (rule 1). */
enum {
	SC_OK = 1, /* allowed: letters, digits, _ . - */
	SC_DIGIT = 2,
	SC_LOWER = 4,
	SC_UPPER = 8,
	SC_HEX = 16, /* 0-9 a-f A-F */
	SC_SEP = 32, /* a Redis key separator: : / | (not allowed in a
			segment, so without SC_OK) */
};

#define SC_D  (SC_OK | SC_DIGIT | SC_HEX)
#define SC_L  (SC_OK | SC_LOWER)
#define SC_U  (SC_OK | SC_UPPER)
#define SC_LH (SC_L | SC_HEX)
#define SC_UH (SC_U | SC_HEX)

static const unsigned char seg_class[256] = {
    [':'] = SC_SEP, ['/'] = SC_SEP, ['|'] = SC_SEP, ['-'] = SC_OK,
    ['.'] = SC_OK,  ['_'] = SC_OK,  ['0'] = SC_D,   ['1'] = SC_D,
    ['2'] = SC_D,   ['3'] = SC_D,   ['4'] = SC_D,   ['5'] = SC_D,
    ['6'] = SC_D,   ['7'] = SC_D,   ['8'] = SC_D,   ['9'] = SC_D,
    ['a'] = SC_LH,  ['b'] = SC_LH,  ['c'] = SC_LH,  ['d'] = SC_LH,
    ['e'] = SC_LH,  ['f'] = SC_LH,  ['g'] = SC_L,   ['h'] = SC_L,
    ['i'] = SC_L,   ['j'] = SC_L,   ['k'] = SC_L,   ['l'] = SC_L,
    ['m'] = SC_L,   ['n'] = SC_L,   ['o'] = SC_L,   ['p'] = SC_L,
    ['q'] = SC_L,   ['r'] = SC_L,   ['s'] = SC_L,   ['t'] = SC_L,
    ['u'] = SC_L,   ['v'] = SC_L,   ['w'] = SC_L,   ['x'] = SC_L,
    ['y'] = SC_L,   ['z'] = SC_L,   ['A'] = SC_UH,  ['B'] = SC_UH,
    ['C'] = SC_UH,  ['D'] = SC_UH,  ['E'] = SC_UH,  ['F'] = SC_UH,
    ['G'] = SC_U,   ['H'] = SC_U,   ['I'] = SC_U,   ['J'] = SC_U,
    ['K'] = SC_U,   ['L'] = SC_U,   ['M'] = SC_U,   ['N'] = SC_U,
    ['O'] = SC_U,   ['P'] = SC_U,   ['Q'] = SC_U,   ['R'] = SC_U,
    ['S'] = SC_U,   ['T'] = SC_U,   ['U'] = SC_U,   ['V'] = SC_U,
    ['W'] = SC_U,   ['X'] = SC_U,   ['Y'] = SC_U,   ['Z'] = SC_U,
};

static int seg_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Ends in a separator then digits: user_42, page-2. */
static int seg_separated_number(const char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && seg_is_digit((unsigned char)s[i - 1]))
		i--;
	return i < n && i > 0 && (s[i - 1] == '_' || s[i - 1] == '-');
}

/* Rules 2-8 for a segment s[0..n) of allowed bytes (rule 1 passed),
 * given its counts: digits, hex digits, and the OR of its classes. */
static int seg_decide(const char *s, size_t n, size_t digits, size_t hex,
		      unsigned all)
{
	if (n == 0)
		return 0;
	if (n >= SEG_LONG)
		return 1;
	if (digits == 0)
		return n >= SEG_TOKEN_MIN && (all & SC_UPPER) &&
		       (all & SC_LOWER);
	if (!(all & (SC_LOWER | SC_UPPER)) || digits >= SEG_DIGITS_MIN)
		return 1;
	if (hex == n && n >= SEG_HEX_MIN)
		return 1;
	if (n >= SEG_TOKEN_MIN)
		return 1;
	return seg_separated_number(s, n);
}

/* Note: the loop may stop early.  A fourth digit decides 1 (rule 5) and
 * so does a byte outside the allowed set (rule 1), whatever follows. */
int pt_segment_is_id(const char *s, size_t n)
{
	size_t digits = 0, hex = 0;
	unsigned all = 0;

	if (n >= SEG_LONG)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned c = seg_class[(unsigned char)s[i]];
		if (!(c & SC_OK))
			return 1;
		if (c & SC_DIGIT) {
			if (++digits >= SEG_DIGITS_MIN)
				return 1;
		}
		hex += (c & SC_HEX) != 0;
		all |= c;
	}
	return seg_decide(s, n, digits, hex, all);
}

/* Case-insensitive s[0..n) == lower-case w of the same length n. */
static int seg_eq_n(const char *s, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (c != (unsigned char)w[i])
			return 0;
	}
	return 1;
}

int pt_segment_takes_id(const char *s, size_t n)
{
	/* By length, so that a segment is compared with at most three
	 * words: user(s), session(s), record(s), uid, id(s), email, token,
	 * account(s), customer(s), complaint(s). */
	static const char *const words[11][3] = {
	    [2] = {"id"},
	    [3] = {"uid", "ids"},
	    [4] = {"user"},
	    [5] = {"users", "email", "token"},
	    [6] = {"record"},
	    [7] = {"session", "records", "account"},
	    [8] = {"sessions", "accounts", "customer"},
	    [9] = {"customers", "complaint"},
	    [10] = {"complaints"},
	};
	if (n >= sizeof(words) / sizeof(words[0]))
		return 0;
	for (size_t i = 0; i < 3 && words[n][i]; i++)
		if (seg_eq_n(s, words[n][i], n))
			return 1;
	return 0;
}

/* ---- Redis keys --------------------------------------------------------- */

static int key_is_sep(char c)
{
	return c == ':' || c == '/' || c == '|';
}

static void key_put(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	if (len > cap - *n)
		len = cap - *n;
	memcpy(out + *n, s, len);
	*n += len;
}

/* The key segment at s[0..len): its length (up to the first separator)
 * and, in *id, whether it is id-like: as pt_segment_is_id, or any
 * non-empty segment when `takes` (rule 9).  One pass: the separator scan
 * and the classification share each byte's table load. */
static size_t key_segment(const char *s, size_t len, int takes, int *id)
{
	size_t i = 0, digits = 0, hex = 0;
	unsigned all = 0;

	if (!takes) {
		for (; i < len; i++) {
			unsigned c = seg_class[(unsigned char)s[i]];
			if (c & SC_SEP) {
				*id = seg_decide(s, i, digits, hex, all);
				return i;
			}
			if (!(c & SC_OK))
				break; /* rule 1 */
			if ((c & SC_DIGIT) && ++digits >= SEG_DIGITS_MIN)
				break; /* rule 5 */
			hex += (c & SC_HEX) != 0;
			all |= c;
		}
		if (i == len) {
			*id = seg_decide(s, len, digits, hex, all);
			return len;
		}
	}
	/* Decided: id-like if non-empty; find the end. */
	while (i < len && !(seg_class[(unsigned char)s[i]] & SC_SEP))
		i++;
	*id = i > 0;
	return i;
}

size_t pt_redis_key_pattern(const char *key, size_t len, char *out,
			    size_t outcap)
{
	size_t cap, n = 0, i = 0;
	int prev_star = 0, prev_takes = 0;

	if (outcap == 0)
		return 0;
	if (!key) {
		key = "";
		len = 0;
	}
	cap = outcap - 1;
	while (i <= len) {
		int id;
		size_t j = i + key_segment(key + i, len - i, prev_takes, &id);
		/* segment key[i..j), then the separator key[j] if j < len */
		if (id) {
			if (!prev_star) {
				key_put(out, cap, &n, "*", 1);
			} else if (n > 0 && key_is_sep(out[n - 1])) {
				n--; /* a:*:* -> a:*: drop the separator */
			}
		} else {
			key_put(out, cap, &n, key + i, j - i);
		}
		prev_star = id;
		prev_takes = !id && pt_segment_takes_id(key + i, j - i);
		if (j < len)
			key_put(out, cap, &n, key + j, 1);
		i = j + 1;
	}
	out[n] = '\0';
	return n;
}
