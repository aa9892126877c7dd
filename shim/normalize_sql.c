/*
 * normalize_sql.c -- SQL fingerprints in the manner of pt-query-digest.
 *
 * A fingerprint keeps the shape of a statement and none of its data, so
 * that the same query written with other values or other spacing groups
 * together, and so that no literal of a police complaint reaches the dump.
 *
 * Sections: character classes; the output buffer; lexing helpers
 * (gaps, quoted text, numbers, words); tokens and spacing; the main loop.
 *
 * What becomes what:
 *   - comments vanish: `-- ` (dashes then whitespace, control or end),
 *     `#` to end of line, `/ * ... * /` including `/ *! ... * /` version
 *     comments and `/ *+ ... * /` hints.  Note: C comments nest here (MySQL
 *     does not nest them); a nested opener hides more, never less.  An
 *     unterminated comment runs to the end.
 *   - literals become `?`: '...' and "..." strings (backslash and doubled
 *     quote escapes; double quotes are taken as strings, as pt does, never
 *     as ANSI identifiers), X'..' B'..' N'..' _charset'..', numbers (ints,
 *     decimals, exponents, 0x.., 0b..; any word glued to a leading digit),
 *     a sign that is unary (after an operator, `(`, `,`, a keyword or at
 *     the start), NULL, TRUE, FALSE.  Unterminated strings run to the end.
 *   - placeholders `?`, `%s`, `%(name)s`, `:name`, `$1` become `?`.
 *   - keywords and identifiers are lower-cased (ASCII only).  Backquoted
 *     identifiers lose their quotes: `FIR_Records` == fir_records.
 *   - numbered names fold: an underscore-separated all-digit part of a
 *     name becomes `?` (fir_2024 -> fir_?, logs_2024_01 -> logs_?_?).
 *   - `in (?, ?)` (only literals, rows of literals allowed) -> `in(?+)`.
 *   - VALUES: two or more rows of literals -> `values(?+)`; a single row
 *     stays `values(?,?)` so that the report can tell a bulk insert from a
 *     one-row write (pt folds both); rows holding expressions keep the first
 *     row and mark the rest `,...` (pt keeps the first row only).
 *   - `limit ? offset ?` -> `limit ?,?`; pt folds both to `limit ?`, we
 *     keep the offset so that offset and keyset pagination stay apart.
 *   - `asc` is dropped (the default order), as pt does in ORDER BY.
 *   - `call proc(...)` -> `call proc` (pt).  `use db` keeps the name.
 *   - a trailing `;` is dropped; `;;` is one `;`.
 *
 * Spacing (deterministic, whatever the source's spacing):
 *   - tokens are separated by one space, except:
 *   - none after `(` and none before `)`;
 *   - none on either side of `,` and of the tight operators
 *     = < > <= >= <> != <=> := and `.`;
 *   - none before `;`;
 *   - before `(` after a word, `?` or `)`: one space if the source had
 *     whitespace or a comment there, none otherwise (MySQL's grammar itself
 *     tells `count(` from `count (`; `insert into t (a,b)` keeps its space).
 * So "WHERE a = 1 AND b IN ( 1 , 2 )" and "where a=1 and b in(1,2)" both
 * give "where a=? and b in(?+)".  Fingerprinting a fingerprint is stable.
 *
 * Speed (the shim fingerprints every statement inside its ~300 ns event
 * budget): a word -- most of a statement's bytes -- is lexed in one pass
 * that finds its end, lower-cases it through a table into a small buffer
 * and notes whether it holds a `_` (word_fast()); its keyword is found by
 * one multiplicative hash of its first 8 bytes (keyword_hashed()), and
 * it is written with one fixed-size copy.  Only names that may fold
 * (`_` before a digit or `?`), longer than NAME_FAST_MAX, or backquoted
 * take the general emit_name().  A single blank between tokens skips the
 * comment checks of skip_gap().  The per-token helpers are inlined.  The
 * output is byte-identical to the plainer implementation this replaced:
 * tests/data/normalize/sql.txt holds 2,000 statements with the outputs
 * recorded before the change (test_normalize_corpus replays them), and a
 * differential fuzz run of old against new (2.6 million inputs) found no
 * difference before the old copy was dropped.
 *
 * Contract: no allocation, no globals, no locale; reads only sql[0..len);
 * work is O(len) (each byte is lexed once, VALUES rows skipped at most
 * twice); the output is cut at outcap-1 bytes and always NUL-terminated.
 */
#include "normalize.h"
#include "sql_keywords.h"

#include <stdint.h>
#include <string.h>

/* ---- character classes (ASCII, locale-free) --------------------------- */

/* One load per test: bit CC_GAP is whitespace and every control byte (NUL
 * included: none can be part of a token outside quotes, so they only
 * separate), CC_DIGIT 0-9, CC_WSTART what starts a name (letters, _ $ @
 * and bytes >= 0x80, i.e. UTF-8 names), CC_WORD what continues one,
 * CC_UNDER the underscore (a name holding one may fold: fir_2024). */
enum { CC_GAP = 1, CC_DIGIT = 2, CC_WSTART = 4, CC_WORD = 8, CC_UNDER = 16 };

static const unsigned char cclass[256] = {
    1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  /* 00 */
    1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  1,	1,  /* 10 */
    1,	0,  0,	0,  12, 0,  0,	0,  0,	0,  0,	0,  0,	0,  0,	0,  /* 20 */
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 0,	0,  0,	0,  0,	0,  /* 30 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 40 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 0,  0,	0,  0,	28, /* 50 */
    0,	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 60 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 0,  0,	0,  0,	1,  /* 70 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 80 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* 90 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* a0 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* b0 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* c0 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* d0 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* e0 */
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, /* f0 */
};

/* ASCII lower case of every byte, one load (bytes >= 0x80 unchanged). */
#define LC1(c)	(unsigned char)((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define LC4(c)	LC1(c), LC1(c + 1), LC1(c + 2), LC1(c + 3)
#define LC16(c) LC4(c), LC4(c + 4), LC4(c + 8), LC4(c + 12)
#define LC64(c) LC16(c), LC16(c + 16), LC16(c + 32), LC16(c + 48)
static const unsigned char lower_tab[256] = {LC64(0), LC64(64), LC64(128),
					     LC64(192)};

static int is_digit(unsigned char c)
{
	return cclass[c] & CC_DIGIT;
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char to_lower(unsigned char c)
{
	return (unsigned char)(c + (((unsigned)c - 'A' < 26u) << 5));
}

static int is_gap(unsigned char c)
{
	return cclass[c] & CC_GAP;
}

static int is_word_start(unsigned char c)
{
	return cclass[c] & CC_WSTART;
}

static int is_word_char(unsigned char c)
{
	return cclass[c] & CC_WORD;
}

/* Case-insensitive comparison of s[0..n) with the lower-case literal w. */
static int word_is(const char *s, size_t n, const char *w)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (w[i] == '\0' || to_lower((unsigned char)s[i]) != w[i])
			return 0;
	return w[i] == '\0';
}

/*
 * Special words (sql_keywords.h), found by hashing: the lower-case word,
 * zero-padded to 8 bytes, read as an integer, times a multiplier chosen
 * (by a search over random odd numbers) so that the words land in
 * distinct slots of 128 -- one multiply, one load, one compare per word.
 * The table is built from the list when the library loads (C cannot read
 * a string literal's bytes in a constant expression), before any
 * statement can be fingerprinted; collisions, should a new word bring
 * one, probe onwards.
 */
#define KW_HASH_MUL   0x6607b61550332cb9ull
#define KW_HASH_SLOTS 128u
#define KW_HASH_SHIFT 57 /* 64 - log2(KW_HASH_SLOTS) */

#define KW_CHECK(w, what)                                                      \
	_Static_assert(sizeof(w) - 1 >= 2 && sizeof(w) - 1 <= KW_MAX,          \
		       "SQL keyword length: " w);
SQL_KEYWORDS(KW_CHECK)
#undef KW_CHECK

static struct {
	uint64_t key; /* 0: empty (no word of 2+ bytes reads as 0) */
	uint8_t kw;   /* enum kw */
} kw_hash[KW_HASH_SLOTS];
static unsigned kw_probes = 1; /* most slots a lookup looks at */

static uint64_t kw_key(const char w[KW_MAX])
{
	uint64_t key;
	memcpy(&key, w, sizeof(key));
	return key;
}

static unsigned kw_slot(uint64_t key)
{
	return (unsigned)((key * KW_HASH_MUL) >> KW_HASH_SHIFT);
}

__attribute__((constructor)) static void kw_hash_build(void)
{
	static const struct {
		char w[KW_MAX]; /* zero-padded */
		uint8_t kw;
	} words[] = {
#define KW_ENTRY(w, what) {w, what},
	    SQL_KEYWORDS(KW_ENTRY)
#undef KW_ENTRY
	};
	unsigned most = 1;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		uint64_t key = kw_key(words[i].w);
		unsigned slot = kw_slot(key), probes = 1;
		while (kw_hash[slot].key) {
			slot = (slot + 1) % KW_HASH_SLOTS;
			probes++;
		}
		kw_hash[slot].key = key;
		kw_hash[slot].kw = words[i].kw;
		if (probes > most)
			most = probes;
	}
	kw_probes = most;
}

unsigned sql_keyword_probes(void)
{
	return kw_probes;
}

/* Which special word the lower-case w[0..n) is; w[n..8) must be zero. */
static enum kw keyword_hashed(const char *w, size_t n)
{
	if (n < 2 || n > KW_MAX)
		return KW_NONE;
	uint64_t key = kw_key(w);
	unsigned slot = kw_slot(key);
	for (unsigned p = 0; p < kw_probes; p++) {
		if (kw_hash[slot].key == key)
			return (enum kw)kw_hash[slot].kw;
		slot = (slot + 1) % KW_HASH_SLOTS;
	}
	return KW_NONE;
}

/* Which special word s[0..n) is, case-insensitively. */
static enum kw keyword_of(const char *s, size_t n)
{
	char w[KW_MAX] = {0};
	if (n < 2 || n > KW_MAX)
		return KW_NONE;
	for (size_t i = 0; i < n; i++)
		w[i] = (char)to_lower((unsigned char)s[i]);
	return keyword_hashed(w, n);
}

/* The per-token helpers run once or twice per token: inlined, they cost
 * a few instructions instead of a call each (measured with callgrind). */
#define HOT static inline __attribute__((always_inline))

/* ---- output buffer ------------------------------------------------------ */

struct sbuf {
	char *out;
	size_t cap; /* usable bytes: outcap - 1 (room for the NUL) */
	size_t n;
};

HOT void put(struct sbuf *b, const char *s, size_t n)
{
	if (n > b->cap - b->n)
		n = b->cap - b->n;
	memcpy(b->out + b->n, s, n);
	b->n += n;
}

HOT void put_c(struct sbuf *b, char c)
{
	if (b->n < b->cap)
		b->out[b->n++] = c;
}

/* ---- lexing helpers ----------------------------------------------------- */

/* End of a C comment opened at i (s[i..i+2) == "/ *"), nesting counted. */
static size_t skip_c_comment(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	while (i < len) {
		if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
			i += 2;
			if (--depth == 0)
				return i;
		} else {
			i++;
		}
	}
	return len;
}

static size_t skip_line(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != '\n')
		i++;
	return i;
}

/* Skip whitespace, control bytes and comments from i. */
static size_t skip_gap(const char *s, size_t len, size_t i)
{
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (is_gap(c))
			i++;
		else if (c == '#')
			i = skip_line(s, len, i);
		else if (c == '-' && i + 1 < len && s[i + 1] == '-' &&
			 (i + 2 == len || is_gap((unsigned char)s[i + 2])))
			i = skip_line(s, len, i);
		else if (c == '/' && i + 1 < len && s[i + 1] == '*')
			i = skip_c_comment(s, len, i);
		else
			break;
	}
	return i;
}

/* End of the quoted text opening at i with quote q; backslash escapes
 * only in strings (not in backquoted names); a doubled quote is a quote. */
static size_t skip_quoted(const char *s, size_t len, size_t i, int backslash)
{
	char q = s[i++];
	char esc = backslash ? '\\' : q; /* q itself: no escape char */
	while (i < len) {
		char c = s[i];
		if (c != q && c != esc) { /* the usual byte: one test */
			i++;
		} else if (c == q) {
			if (i + 1 < len && s[i + 1] == q)
				i += 2;
			else
				return i + 1;
		} else {
			i += 2;
		}
	}
	return len;
}

/* End of a parenthesised group opening at i, strings and comments
 * skipped whole. */
static size_t skip_group(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	while (i < len) {
		size_t j = skip_gap(s, len, i);
		if (j != i) {
			i = j;
			continue;
		}
		char c = s[i];
		if (c == '\'' || c == '"' || c == '`') {
			i = skip_quoted(s, len, i, c != '`');
		} else if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			i++;
			if (--depth == 0)
				return i;
		} else {
			i++;
		}
	}
	return len;
}

/* End of a number starting at i: digits, fraction, exponent, and any word
 * glued to it (0x1F, 0b101, 1e5, 123abc): all of it is one literal. */
static size_t skip_number(const char *s, size_t len, size_t i)
{
	while (i < len && is_digit((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < len && is_digit((unsigned char)s[j])) {
			i = j;
			while (i < len && is_digit((unsigned char)s[i]))
				i++;
		}
	}
	while (i < len && is_word_char((unsigned char)s[i]))
		i++;
	return i;
}

/* End of a word starting at i.  A `?` right after `_` belongs to the word
 * so that a folded name (fir_?) reads back as one name. */
static size_t skip_word(const char *s, size_t len, size_t i)
{
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (is_word_char(c) || (c == '?' && s[i - 1] == '_'))
			i++;
		else
			break;
	}
	return i;
}

/* ---- tokens and spacing ------------------------------------------------- */

enum tok {
	T_NONE,	 /* start of statement */
	T_WORD,	 /* keyword or identifier */
	T_VALUE, /* ? */
	T_OPEN,
	T_CLOSE,
	T_COMMA,
	T_TIGHT, /* = < > <= >= <> != <=> := . */
	T_OP,	 /* any other operator or punctuation */
	T_SEMI,
};

enum fold_kind { FOLD_NONE, FOLD_IN, FOLD_VALUES };

struct fp {
	const char *s;
	size_t len;
	struct sbuf b;
	enum tok prev;
	int operand; /* the previous token ends an operand: a sign is binary */
	int gap;     /* whitespace or a comment before the current token */
	int semi;    /* a `;` waits for a following token */
	int depth;
	enum fold_kind fold_kw; /* the previous token was IN or VALUES */
	enum fold_kind fold;	/* a list being folded, opened at depth... */
	int fold_depth;
	size_t fold_start;
	int values_row;	 /* the previous token closed a VALUES row */
	int limit_state; /* 1 after LIMIT, 2 after LIMIT ? */
	int call;	 /* 1 after a leading CALL, 2 after its name */
};

HOT int need_space(enum tok prev, enum tok t, int gap)
{
	if (prev == T_NONE || prev == T_OPEN || t == T_CLOSE)
		return 0;
	if (prev == T_COMMA || t == T_COMMA || prev == T_TIGHT ||
	    t == T_TIGHT || t == T_SEMI)
		return 0;
	if (t == T_OPEN &&
	    (prev == T_WORD || prev == T_VALUE || prev == T_CLOSE))
		return gap;
	return 1;
}

/* Write a token's separator and remember the token's kind. */
HOT void start_tok(struct fp *f, enum tok t)
{
	if (f->semi && t != T_SEMI) {
		put_c(&f->b, ';');
		f->prev = T_SEMI;
		f->semi = 0;
	}
	if (need_space(f->prev, t, f->gap))
		put_c(&f->b, ' ');
	f->prev = t;
	f->gap = 0;
	f->fold_kw = FOLD_NONE;
	f->values_row = 0;
	f->limit_state = 0;
}

HOT void emit(struct fp *f, enum tok t, const char *s, size_t n)
{
	start_tok(f, t);
	put(&f->b, s, n);
	f->operand = (t == T_VALUE || t == T_CLOSE);
}

HOT void emit_value(struct fp *f)
{
	int after_limit = f->limit_state == 1;
	emit(f, T_VALUE, "?", 1);
	f->limit_state = after_limit ? 2 : 0;
}

/* A name, lower-cased, underscore-separated all-digit parts to `?`: one
 * pass, a numeric part written out then replaced by `?`. */
static void emit_name(struct fp *f, const char *s, size_t n, int operand)
{
	char *o;
	size_t room, w = 0, part = 0, plen = 0;
	int numeric = 0, first = 1;

	start_tok(f, T_WORD);
	o = f->b.out + f->b.n;
	room = f->b.cap - f->b.n;
	for (size_t k = 0; k < n && w < room; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '_') {
			if (numeric && plen > 0 && !first) {
				w = part;
				o[w++] = '?';
			}
			if (w == room)
				break;
			o[w++] = '_';
			part = w;
			plen = 0;
			numeric = 1;
			first = 0;
			continue;
		}
		numeric &= is_digit(c) || c == '?';
		plen++;
		if (!is_gap(c) && c != '`')
			o[w++] = (char)to_lower(c);
	}
	if (numeric && plen > 0 && !first && w < room) {
		w = part;
		o[w++] = '?';
	}
	f->b.n += w;
	f->operand = operand;
}

/* The list opened after IN or VALUES has closed: fold it when it holds
 * nothing but literals. */
static int fold_list(struct fp *f)
{
	int any = 0;
	for (size_t k = f->fold_start; k < f->b.n; k++) {
		char c = f->b.out[k];
		if (c == '?')
			any = 1;
		else if (c != ' ' && c != '(' && c != ')' && c != ',' &&
			 c != '+')
			return 0;
	}
	if (!any)
		return 0;
	f->b.n = f->fold_start;
	put(&f->b, "(?+)", 4);
	return 1;
}

/* The row just closed reads `(? +)`: a fingerprint read back, already
 * folded (keeps fingerprinting idempotent). */
static int folded_before(const struct fp *f)
{
	const char *o = f->b.out + f->fold_start;
	size_t n = f->b.n - f->fold_start;
	return n == 5 && memcmp(o, "(? +)", 5) == 0;
}

/* After a VALUES row: `,(` starts more rows.  Skip them all; fold when
 * the first row was literals only, else mark them `,...`. */
static size_t values_rows(struct fp *f, size_t i)
{
	size_t j = skip_gap(f->s, f->len, i + 1);
	if (j >= f->len || f->s[j] != '(')
		return i;
	while (j < f->len && f->s[j] == '(') {
		i = skip_group(f->s, f->len, j);
		j = skip_gap(f->s, f->len, i);
		if (j >= f->len || f->s[j] != ',')
			break;
		size_t k = skip_gap(f->s, f->len, j + 1);
		if (k >= f->len || f->s[k] != '(')
			break;
		j = k;
	}
	if (!fold_list(f))
		put(&f->b, ",...", 4);
	f->prev = T_CLOSE;
	f->operand = 1;
	f->gap = 0;
	return i;
}

/* ---- the main loop ------------------------------------------------------ */

/* Longest name lexed by lex_word()'s one-pass path. */
#define NAME_FAST_MAX 64

/* One pass over the word at s[0..left): its length, lower-cased into
 * low[]; 0 when the word needs the general path (longer than
 * NAME_FAST_MAX, a `_` before a digit or `?`, which may fold). */
static size_t word_fast(const char *s, size_t left, char *low)
{
	size_t n = 0, lim = left < NAME_FAST_MAX ? left : NAME_FAST_MAX;
	unsigned acc = 0;

	while (n < lim) {
		unsigned char c = (unsigned char)s[n];
		unsigned cc = cclass[c];
		if (!(cc & CC_WORD))
			break;
		acc |= cc;
		low[n++] = (char)lower_tab[c];
	}
	/* keyword_hashed() reads 8 bytes, lex_word() copies 16 */
	memset(low + n, 0, 16);
	if (n == lim && lim < left)
		return 0; /* maybe longer */
	if (!(acc & CC_UNDER))
		return n;
	if (n < left && s[n] == '?' && s[n - 1] == '_')
		return 0; /* skip_word() takes the `?` in */
	for (size_t k = 0; k + 1 < n; k++)
		if (low[k] == '_' && is_digit((unsigned char)low[k + 1]))
			return 0;
	return n;
}

static size_t lex_word(struct fp *f, size_t i)
{
	const char *s = f->s + i;
	char low[NAME_FAST_MAX + 16];
	size_t fast = word_fast(s, f->len - i, low);
	size_t end = fast ? i + fast : skip_word(f->s, f->len, i);
	size_t n = end - i;
	enum kw kw;
	enum tok before = f->prev;

	/* X'..', B'..', N'..', _charset'..': one literal. */
	if (end < f->len && f->s[end] == '\'' &&
	    (n == 1 ? (word_is(s, 1, "x") || word_is(s, 1, "b") ||
		       word_is(s, 1, "n"))
		    : s[0] == '_')) {
		emit_value(f);
		return skip_quoted(f->s, f->len, end, 1);
	}
	kw = fast ? keyword_hashed(low, n) : keyword_of(s, n);
	switch (kw) {
	case KW_VALUE:
		emit_value(f);
		return end;
	case KW_ASC:
		f->gap = 1;
		return end;
	case KW_OFFSET:
		if (f->limit_state == 2) {
			emit(f, T_COMMA, ",", 1);
			return end;
		}
		break;
	default:
		break;
	}
	if (fast) { /* nothing to fold: the lower-cased copy is the name */
		start_tok(f, T_WORD);
		if (n <= 16 && f->b.cap - f->b.n >= 16) {
			/* one fixed-size copy (two loads and stores), not a
			 * call; the bytes past n are overwritten or cut */
			memcpy(f->b.out + f->b.n, low, 16);
			f->b.n += n;
		} else {
			put(&f->b, low, n);
		}
		f->operand = kw == KW_NONE || kw == KW_CALL;
	} else {
		emit_name(f, s, n, kw == KW_NONE || kw == KW_CALL);
	}
	if (kw == KW_LIMIT)
		f->limit_state = 1;
	else if (kw == KW_IN)
		f->fold_kw = FOLD_IN;
	else if (kw == KW_VALUES)
		f->fold_kw = FOLD_VALUES;
	if (f->call == 1)
		f->call = 2;
	else if ((before == T_NONE || before == T_SEMI) && kw == KW_CALL)
		f->call = 1;
	return end;
}

static size_t lex_open(struct fp *f, size_t i)
{
	enum fold_kind kw = f->fold_kw;
	size_t start;
	if (kw != FOLD_NONE)
		f->gap = 0; /* in(...), values(...) whatever the spacing */
	start = f->b.n;
	emit(f, T_OPEN, "(", 1);
	f->depth++;
	if (kw != FOLD_NONE) {
		f->fold = kw;
		f->fold_depth = f->depth;
		f->fold_start = start;
	}
	return i + 1;
}

static size_t lex_close(struct fp *f, size_t i)
{
	emit(f, T_CLOSE, ")", 1);
	if (f->fold != FOLD_NONE && f->depth == f->fold_depth) {
		enum fold_kind k = f->fold;
		f->fold = FOLD_NONE;
		if (k == FOLD_IN || folded_before(f))
			fold_list(f);
		if (k == FOLD_VALUES)
			f->values_row = 1;
	}
	if (f->depth > 0)
		f->depth--;
	return i + 1;
}

/* Operators: the tight ones take no spaces. */
static size_t lex_op(struct fp *f, size_t i)
{
	const char *s = f->s + i;
	size_t left = f->len - i;
	char c1 = left > 1 ? s[1] : '\0', c2 = left > 2 ? s[2] : '\0';
	enum tok t = T_OP;
	size_t n = 1;

	switch (s[0]) {
	case '<':
		t = T_TIGHT;
		if (c1 == '=' && c2 == '>')
			n = 3;
		else if (c1 == '=' || c1 == '>')
			n = 2;
		else if (c1 == '<') {
			n = 2;
			t = T_OP;
		}
		break;
	case '>':
		t = T_TIGHT;
		if (c1 == '=') {
			n = 2;
		} else if (c1 == '>') {
			n = 2;
			t = T_OP;
		}
		break;
	case '=':
	case '.':
		t = T_TIGHT;
		break;
	case '!':
	case ':':
		if (c1 == '=') {
			n = 2;
			t = T_TIGHT;
		}
		break;
	case '|':
	case '&':
		n = c1 == s[0] ? 2 : 1;
		break;
	case '-':
		if (c1 == '>')
			n = c2 == '>' ? 3 : 2;
		break;
	default:
		break;
	}
	emit(f, t, s, n);
	return i + n;
}

/* Longest %(name)s looked for: bounds the work on a stray "%(". */
#define PLACEHOLDER_NAME_MAX 64

/* A placeholder other than `?`: %s, %d, %(name)s, :name, :1, $1.  Returns
 * its end, or i when there is none at i. */
static size_t placeholder(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;
	if (j >= len)
		return i;
	if (s[i] == '%') {
		if (s[j] == '(') {
			size_t stop = len - j > PLACEHOLDER_NAME_MAX
					  ? j + PLACEHOLDER_NAME_MAX
					  : len;
			while (j < stop && s[j] != ')')
				j++;
			j++;
			if (j < len && is_alpha((unsigned char)s[j]))
				return j + 1;
			return i;
		}
		return (s[j] == 's' || s[j] == 'd' || s[j] == 'b' ||
			s[j] == 'f' || s[j] == 'r')
			   ? j + 1
			   : i;
	}
	if (s[i] == ':' && is_word_char((unsigned char)s[j]))
		return skip_word(s, len, j);
	if (s[i] == '$' && is_digit((unsigned char)s[j]))
		return skip_word(s, len, j);
	return i;
}

/* A sign that starts a literal: `-`/`+` (spaces allowed) before a digit
 * or `.digit`, where no operand precedes. */
static size_t unary_number(struct fp *f, size_t i)
{
	const char *s = f->s;
	size_t j = i + 1;
	if (f->operand || (s[i] != '-' && s[i] != '+'))
		return i;
	while (j < f->len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n'))
		j++;
	if (j < f->len && is_digit((unsigned char)s[j]))
		return skip_number(s, f->len, j);
	if (j + 1 < f->len && s[j] == '.' && is_digit((unsigned char)s[j + 1]))
		return skip_number(s, f->len, j + 1);
	return i;
}

static size_t lex_one(struct fp *f, size_t i)
{
	const char *s = f->s;
	unsigned char c = (unsigned char)s[i];
	size_t j;

	if (is_word_start(c) && c != '$') /* the most common token first */
		return lex_word(f, i);
	if (c == '\'' || c == '"') {
		emit_value(f);
		return skip_quoted(s, f->len, i, 1);
	}
	if (c == '`') {
		j = skip_quoted(s, f->len, i, 0);
		size_t end = (j > i + 1 && s[j - 1] == '`') ? j - 1 : j;
		emit_name(f, s + i + 1, end - i - 1, 1);
		return j;
	}
	if (is_digit(c) || (c == '.' && !f->operand && i + 1 < f->len &&
			    is_digit((unsigned char)s[i + 1]))) {
		emit_value(f);
		return skip_number(s, f->len, c == '.' ? i + 1 : i);
	}
	if ((j = unary_number(f, i)) != i) {
		emit_value(f);
		return j;
	}
	if (c == '?' || (j = placeholder(s, f->len, i)) != i) {
		emit_value(f);
		return c == '?' ? i + 1 : j;
	}
	if (is_word_start(c))
		return lex_word(f, i);
	if (c == '(')
		return lex_open(f, i);
	if (c == ')')
		return lex_close(f, i);
	if (c == ',') {
		if (f->values_row && (j = values_rows(f, i)) != i)
			return j;
		emit(f, T_COMMA, ",", 1);
		return i + 1;
	}
	if (c == ';') {
		if (f->prev == T_NONE)
			return i + 1; /* a leading `;` is nothing */
		f->semi = 1;
		f->prev = T_SEMI;
		f->operand = 0;
		f->call = 0;
		f->limit_state = 0;
		f->depth = 0;
		f->fold = FOLD_NONE;
		f->fold_kw = FOLD_NONE;
		f->values_row = 0;
		return i + 1;
	}
	return lex_op(f, i);
}

size_t pt_sql_fingerprint(const char *sql, size_t len, char *out, size_t outcap)
{
	struct fp f;
	size_t i = 0;

	if (outcap == 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.s = sql ? sql : "";
	f.len = sql ? len : 0;
	f.b.out = out;
	f.b.cap = outcap - 1;
	f.prev = T_NONE;

	while (i < f.len) {
		unsigned char c = (unsigned char)f.s[i];
		if (c == ' ' && i + 1 < f.len) {
			/* the usual gap, one blank: skip_gap() would stop at
			 * the next byte unless it starts another gap */
			unsigned char d = (unsigned char)f.s[i + 1];
			if (!is_gap(d) && d != '#' && d != '-' && d != '/') {
				f.gap = 1;
				i++;
				c = d;
			}
		}
		if (is_gap(c) || c == '#' || c == '-' || c == '/') {
			size_t j = skip_gap(f.s, f.len, i);
			if (j != i) {
				f.gap = 1;
				i = j;
				continue;
			}
		}
		if (f.call == 2 && (f.s[i] == '(' || f.s[i] == ';'))
			break; /* call proc(...): the arguments go, as in pt */
		i = lex_one(&f, i);
	}
	out[f.b.n] = '\0';
	return f.b.n;
}
