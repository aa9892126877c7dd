/*
 * fmt_conns.c -- the connections section: per process and peer, one plain
 * sentence, then the figures (opened, closed, reopened, lifetime,
 * operations per connection, connect and auth times, open at once, share
 * of query time spent connecting), in text, JSON, Markdown and HTML.
 */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "fmt_conns.h"
#include "format.h"

static double per_conn(const struct pt_conn_group *g)
{
	uint64_t n = g->opened + g->inherited;
	return n ? (double)g->ops / (double)n : 0.0;
}

static double life_mean(const struct pt_conn_group *g)
{
	return g->life_n ? (double)g->life_sum_ns / (double)g->life_n : 0.0;
}

/* "pid 123 (python3)" */
static void proc_label(const struct pt_conn_group *g, char *buf, size_t len)
{
	snprintf(buf, len, "pid %d (%s)", g->pid,
		 g->exe && *g->exe ? g->exe : "?");
}

/* The figures every format shows, as short strings. */
struct cells {
	char life_mean[16], life_max[16], con_mean[16], con_p95[16];
	char auth_mean[16], auth_p95[16];
};

static void cells_of(const struct pt_conn_group *g, struct cells *c)
{
	fmt_duration(life_mean(g), c->life_mean, sizeof(c->life_mean));
	fmt_duration((double)g->life_max_ns, c->life_max, sizeof(c->life_max));
	snprintf(c->con_mean, sizeof(c->con_mean), "-");
	snprintf(c->con_p95, sizeof(c->con_p95), "-");
	snprintf(c->auth_mean, sizeof(c->auth_mean), "-");
	snprintf(c->auth_p95, sizeof(c->auth_p95), "-");
	if (g->connect_n) {
		fmt_duration(g->connect_mean_ns, c->con_mean,
			     sizeof(c->con_mean));
		fmt_duration(g->connect_p95_ns, c->con_p95, sizeof(c->con_p95));
	}
	if (g->auth_n) {
		fmt_duration(g->auth_mean_ns, c->auth_mean,
			     sizeof(c->auth_mean));
		fmt_duration(g->auth_p95_ns, c->auth_p95, sizeof(c->auth_p95));
	}
	if (!g->life_n) {
		snprintf(c->life_mean, sizeof(c->life_mean), "-");
		snprintf(c->life_max, sizeof(c->life_max), "-");
	}
}

void fmt_conns_text(const struct pt_analysis *a, FILE *out)
{
	const struct pt_conns *cs = &a->m->conns;
	if (!cs->ng)
		return;
	fprintf(out, "\nConnections (client side, per process and peer)\n");
	for (size_t i = 0; i < cs->ng; i++) {
		const struct pt_conn_group *g = &cs->g[i];
		char s[320], p[64];
		struct cells c;
		conns_sentence(g, s, sizeof(s));
		proc_label(g, p, sizeof(p));
		cells_of(g, &c);
		fprintf(out, "  %s\n    %s\n", p, s);
		fprintf(out, "    opened %llu, closed %llu, reopened %llu",
			(unsigned long long)g->opened,
			(unsigned long long)g->closed,
			(unsigned long long)g->reopened);
		if (g->inherited)
			fprintf(out, ", inherited from the parent %llu",
				(unsigned long long)g->inherited);
		if (g->failed)
			fprintf(out, ", failed connects %llu",
				(unsigned long long)g->failed);
		fprintf(out,
			"; lifetime mean %s, max %s; %.1f ops/connection\n",
			c.life_mean, c.life_max, per_conn(g));
		fprintf(out, "    connect mean %s, p95 %s; ", c.con_mean,
			c.con_p95);
		if (g->proto == PT_PROTO_MYSQL)
			fprintf(out, "auth mean %s, p95 %s; ", c.auth_mean,
				c.auth_p95);
		fprintf(out, "open at once max %llu, p95 %.0f\n",
			(unsigned long long)g->open_max, g->open_p95);
	}
}

static void add_ms(cJSON *o, const char *name, double ns, int known)
{
	if (known)
		cJSON_AddNumberToObject(o, name, ns / 1e6);
	else
		cJSON_AddNullToObject(o, name);
}

cJSON *fmt_conns_json(const struct pt_analysis *a)
{
	const struct pt_conns *cs = &a->m->conns;
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < cs->ng; i++) {
		const struct pt_conn_group *g = &cs->g[i];
		cJSON *o = cJSON_CreateObject();
		char s[320];
		conns_sentence(g, s, sizeof(s));
		cJSON_AddNumberToObject(o, "pid", g->pid);
		cJSON_AddStringToObject(o, "exe", g->exe ? g->exe : "");
		cJSON_AddStringToObject(o, "proto", conns_proto_name(g->proto));
		cJSON_AddStringToObject(o, "peer", g->label);
		cJSON_AddStringToObject(o, "summary", s);
		cJSON_AddNumberToObject(o, "opened", (double)g->opened);
		cJSON_AddNumberToObject(o, "closed", (double)g->closed);
		cJSON_AddNumberToObject(o, "reopened", (double)g->reopened);
		cJSON_AddNumberToObject(o, "inherited", (double)g->inherited);
		cJSON_AddNumberToObject(o, "failed_connects",
					(double)g->failed);
		cJSON_AddNumberToObject(o, "operations", (double)g->ops);
		cJSON_AddNumberToObject(o, "ops_per_connection", per_conn(g));
		add_ms(o, "lifetime_mean_ms", life_mean(g), g->life_n > 0);
		add_ms(o, "lifetime_max_ms", (double)g->life_max_ns,
		       g->life_n > 0);
		cJSON_AddNumberToObject(o, "connect_count",
					(double)g->connect_n);
		add_ms(o, "connect_mean_ms", g->connect_mean_ns,
		       g->connect_n > 0);
		add_ms(o, "connect_p95_ms", g->connect_p95_ns,
		       g->connect_n > 0);
		cJSON_AddNumberToObject(o, "auth_count", (double)g->auth_n);
		add_ms(o, "auth_mean_ms", g->auth_mean_ns, g->auth_n > 0);
		add_ms(o, "auth_p95_ms", g->auth_p95_ns, g->auth_n > 0);
		cJSON_AddNumberToObject(o, "open_at_once_max",
					(double)g->open_max);
		cJSON_AddNumberToObject(o, "open_at_once_p95", g->open_p95);
		cJSON_AddNumberToObject(o, "query_ms",
					(double)g->query_ns / 1e6);
		cJSON_AddNumberToObject(o, "connecting_share_pct",
					conns_connect_share(g));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void fmt_conns_markdown(const struct pt_analysis *a, FILE *out)
{
	const struct pt_conns *cs = &a->m->conns;
	if (!cs->ng)
		return;
	fprintf(out, "\n### Connections\n\n");
	for (size_t i = 0; i < cs->ng; i++) {
		char s[320], p[64];
		conns_sentence(&cs->g[i], s, sizeof(s));
		proc_label(&cs->g[i], p, sizeof(p));
		fprintf(out, "- %s: %s\n", p, s);
	}
	fprintf(out, "\n| process | peer | opened | closed | reopened | "
		     "ops/conn | lifetime mean | lifetime max | connect mean "
		     "| connect p95 | auth mean | open max | open p95 | "
		     "connecting |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:"
		     "|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < cs->ng; i++) {
		const struct pt_conn_group *g = &cs->g[i];
		char p[64];
		struct cells c;
		proc_label(g, p, sizeof(p));
		cells_of(g, &c);
		fprintf(out,
			"| %s | %s %s | %llu | %llu | %llu | %.1f | %s | %s | "
			"%s | %s | %s | %llu | %.0f | %.1f%% |\n",
			p, conns_proto_name(g->proto), g->label,
			(unsigned long long)g->opened,
			(unsigned long long)g->closed,
			(unsigned long long)g->reopened, per_conn(g),
			c.life_mean, c.life_max, c.con_mean, c.con_p95,
			c.auth_mean, (unsigned long long)g->open_max,
			g->open_p95, conns_connect_share(g));
	}
}

void fmt_conns_html(FILE *out, const struct pt_analysis *a,
		    const struct pt_out_opts *o)
{
	(void)o;
	const struct pt_conns *cs = &a->m->conns;
	if (!a->show_operations || !cs->ng)
		return;
	fputs("<h2>Connections</h2>\n<table><tr><th>process</th><th>peer</th>"
	      "<th>summary</th><th>opened</th><th>closed</th><th>reopened</th>"
	      "<th>ops/conn</th><th>lifetime mean</th><th>connect mean</th>"
	      "<th>connect p95</th><th>auth mean</th><th>open max</th>"
	      "<th>connecting</th></tr>\n",
	      out);
	for (size_t i = 0; i < cs->ng; i++) {
		const struct pt_conn_group *g = &cs->g[i];
		char s[320], p[64];
		struct cells c;
		conns_sentence(g, s, sizeof(s));
		proc_label(g, p, sizeof(p));
		cells_of(g, &c);
		fputs("<tr><td>", out);
		fmt_xml_escape(out, p, FMT_XML_CTL_MARK);
		fprintf(out, "</td><td>%s ", conns_proto_name(g->proto));
		fmt_xml_escape(out, g->label, FMT_XML_CTL_MARK);
		fputs("</td><td>", out);
		fmt_xml_escape(out, s, FMT_XML_CTL_MARK);
		fprintf(out,
			"</td><td>%llu</td><td>%llu</td><td>%llu</td>"
			"<td>%.1f</td><td>%s</td><td>%s</td><td>%s</td>"
			"<td>%s</td><td>%llu</td><td>%.1f%%</td></tr>\n",
			(unsigned long long)g->opened,
			(unsigned long long)g->closed,
			(unsigned long long)g->reopened, per_conn(g),
			c.life_mean, c.con_mean, c.con_p95, c.auth_mean,
			(unsigned long long)g->open_max,
			conns_connect_share(g));
	}
	fputs("</table>\n", out);
}
