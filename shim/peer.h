/*
 * peer.h -- a socket's peer as the dump records it (family, port, address):
 * from a sockaddr (connect/accept, conn.c) or from a connected fd
 * (getpeername, the client-API hooks), written once for all of them.
 */
#ifndef PERFTAP_PEER_H
#define PERFTAP_PEER_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct pt_peer {
	uint8_t family; /* AF_INET, AF_INET6, AF_UNIX; 0 = unknown */
	uint16_t port;
	uint8_t addr[16];
};

/* Family always (when alen holds one); port and address for AF_INET and
 * AF_INET6 of a sufficient length, zero otherwise. */
static inline void pt_peer_from(struct pt_peer *p, const struct sockaddr *a,
				socklen_t alen)
{
	memset(p, 0, sizeof(*p));
	if (!a || alen < sizeof(sa_family_t))
		return;
	p->family = (uint8_t)a->sa_family;
	if (a->sa_family == AF_INET && alen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)a;
		p->port = ntohs(in->sin_port);
		memcpy(p->addr, &in->sin_addr, 4);
	} else if (a->sa_family == AF_INET6 &&
		   alen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)a;
		p->port = ntohs(in6->sin6_port);
		memcpy(p->addr, &in6->sin6_addr, 16);
	}
}

/* The peer of a connected socket; all zero when fd < 0 or unknown. */
static inline void pt_peer_of_fd(int fd, struct pt_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
		memset(p, 0, sizeof(*p));
		return;
	}
	pt_peer_from(p, (const struct sockaddr *)&ss, len);
}

#endif /* PERFTAP_PEER_H */
