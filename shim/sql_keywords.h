/*
 * sql_keywords.h -- the words the SQL fingerprint treats specially
 * (normalize_sql.c), one line each: adding a keyword is one X() line.
 * Included by normalize_sql.c (which builds its lookup table from the
 * list) and by the unit test that checks every word is recognised.
 */
#ifndef PERFTAP_SQL_KEYWORDS_H
#define PERFTAP_SQL_KEYWORDS_H

/* What a special word does to the fingerprint. */
enum kw {
	KW_NONE,  /* an identifier, or a keyword that ends an operand */
	KW_OP,	  /* a keyword after which a sign starts a literal */
	KW_VALUE, /* NULL TRUE FALSE: a literal */
	KW_ASC,	  /* dropped */
	KW_OFFSET,
	KW_LIMIT,
	KW_IN,
	KW_VALUES, /* VALUES or VALUE */
	KW_CALL,
};

/* Longest special word: the lookup reads a word as 8 zero-padded bytes. */
#define KW_MAX 8

/* X(word, what): lower case, 2 to KW_MAX bytes (checked at compile time),
 * any order. */
#define SQL_KEYWORDS(X)                                                        \
	X("all", KW_OP)                                                        \
	X("and", KW_OP)                                                        \
	X("any", KW_OP)                                                        \
	X("asc", KW_ASC)                                                       \
	X("between", KW_OP)                                                    \
	X("by", KW_OP)                                                         \
	X("call", KW_CALL)                                                     \
	X("case", KW_OP)                                                       \
	X("default", KW_OP)                                                    \
	X("distinct", KW_OP)                                                   \
	X("div", KW_OP)                                                        \
	X("else", KW_OP)                                                       \
	X("escape", KW_OP)                                                     \
	X("exists", KW_OP)                                                     \
	X("false", KW_VALUE)                                                   \
	X("having", KW_OP)                                                     \
	X("in", KW_IN)                                                         \
	X("interval", KW_OP)                                                   \
	X("is", KW_OP)                                                         \
	X("like", KW_OP)                                                       \
	X("limit", KW_LIMIT)                                                   \
	X("mod", KW_OP)                                                        \
	X("not", KW_OP)                                                        \
	X("null", KW_VALUE)                                                    \
	X("offset", KW_OFFSET)                                                 \
	X("on", KW_OP)                                                         \
	X("or", KW_OP)                                                         \
	X("regexp", KW_OP)                                                     \
	X("return", KW_OP)                                                     \
	X("rlike", KW_OP)                                                      \
	X("select", KW_OP)                                                     \
	X("set", KW_OP)                                                        \
	X("some", KW_OP)                                                       \
	X("then", KW_OP)                                                       \
	X("true", KW_VALUE)                                                    \
	X("union", KW_OP)                                                      \
	X("value", KW_VALUES)                                                  \
	X("values", KW_VALUES)                                                 \
	X("when", KW_OP)                                                       \
	X("where", KW_OP)                                                      \
	X("xor", KW_OP)

/* Slots a keyword lookup may probe: 1 while the hash of the list is
 * perfect (the unit test holds it there: a new word that collides needs
 * a new KW_HASH_MUL; until then lookups stay right, one probe slower). */
unsigned sql_keyword_probes(void);

#endif /* PERFTAP_SQL_KEYWORDS_H */
