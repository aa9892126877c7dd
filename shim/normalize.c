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

static int seg_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int seg_is_hex_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Case-insensitive s[0..n) == lower-case w. */
static int seg_eq(const char *s, size_t n, const char *w)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (w[i] == '\0' || c != (unsigned char)w[i])
			return 0;
	}
	return w[i] == '\0';
}

/* Ends in a separator then digits: user_42, page-2. */
static int seg_separated_number(const char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && seg_is_digit((unsigned char)s[i - 1]))
		i--;
	return i < n && i > 0 && (s[i - 1] == '_' || s[i - 1] == '-');
}

int pt_segment_is_id(const char *s, size_t n)
{
	size_t digits = 0, letters = 0, hex = 0;
	int upper = 0, lower = 0;

	if (n == 0)
		return 0;
	if (n >= SEG_LONG)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (seg_is_digit(c)) {
			digits++;
			hex++;
		} else if (c >= 'a' && c <= 'z') {
			letters++;
			lower = 1;
			hex += seg_is_hex_letter(c);
		} else if (c >= 'A' && c <= 'Z') {
			letters++;
			upper = 1;
			hex += seg_is_hex_letter(c);
		} else if (c != '_' && c != '-' && c != '.') {
			return 1;
		}
	}
	if (digits == 0)
		return n >= SEG_TOKEN_MIN && upper && lower;
	if (letters == 0 || digits >= SEG_DIGITS_MIN)
		return 1;
	if (hex == n && n >= SEG_HEX_MIN)
		return 1;
	if (n >= SEG_TOKEN_MIN)
		return 1;
	return seg_separated_number(s, n);
}

int pt_segment_takes_id(const char *s, size_t n)
{
	static const char *const words[] = {
	    "user",	 "users",     "session",  "sessions", "record",
	    "records",	 "uid",	      "id",	  "ids",      "email",
	    "token",	 "account",   "accounts", "customer", "customers",
	    "complaint", "complaints"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (seg_eq(s, n, words[i]))
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
		size_t j = i;
		while (j < len && !key_is_sep(key[j]))
			j++;
		/* segment key[i..j), then the separator key[j] if j < len */
		int id =
		    pt_segment_is_id(key + i, j - i) || (prev_takes && j > i);
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
