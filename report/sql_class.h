/*
 * sql_class.h -- classify an SQL fingerprint (lower case, literals as ?)
 * into the classes the AFIRGen targets are written against.
 */
#ifndef PERFTAP_SQL_CLASS_H
#define PERFTAP_SQL_CLASS_H

enum pt_sql_class {
	PT_SQL_POINT_SELECT = 0, /* one equality on one column: by key */
	PT_SQL_INDEXED_SELECT,	 /* other filtered selects */
	PT_SQL_JOIN,
	PT_SQL_AGGREGATION, /* count/sum/avg/min/max or group by */
	PT_SQL_PAGINATION,  /* keyset (order by + range + limit) or offset */
	PT_SQL_FULLTEXT,    /* match (...) against (...) */
	PT_SQL_BULK_INSERT, /* insert with several value rows */
	PT_SQL_WRITE,	    /* other insert/update/delete/replace */
	PT_SQL_DDL,
	PT_SQL_TRANSACTION, /* begin/commit/rollback/savepoint/autocommit */
	PT_SQL_OTHER,	    /* selects without where, set, show, commands */
	PT_SQL_CLASS_COUNT
};

/* Class of fingerprint text (NUL-terminated). */
enum pt_sql_class sql_classify(const char *fingerprint);

/* "point_select", ...; NULL for an out of range value. */
const char *sql_class_name(enum pt_sql_class c);

/* Inverse of sql_class_name; -1 when unknown. */
int sql_class_from_name(const char *name);

#endif /* PERFTAP_SQL_CLASS_H */
