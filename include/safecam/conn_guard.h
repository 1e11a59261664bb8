/* conn_guard.h — connection slots shared fairly between sources, for the network front doors (HTTPS in
 * lib/http/server.c, RTSPS in lib/media/front.c). A fixed table of slots, a per-source share (a source at
 * its share is refused, unless one of its own keep-alive connections is idle: that one makes way), and an
 * eviction order in which the owner always wins: when a newcomer finds no free slot, the guard evicts, in
 * order,
 *   1. a connection that has not completed TLS and a request (state CONN_GUARD_NEW),
 *   2. then one that has sent a request but never authenticated (CONN_GUARD_ACTIVE),
 * from the source holding the most slots first, the oldest first within that source. Authenticated
 * sessions and running streams (CONN_GUARD_TRUSTED) are never evicted by a newcomer; when every candidate
 * slot is trusted the newcomer is refused. Eviction is shutdown(fd, SHUT_RDWR) under the guard's lock, so
 * the fd cannot have been closed and reused: owners release their slot before they close the fd.
 * Refusals and evictions are tallied per source (not logged per connection) for one summary per interval.
 * IPv6 sources share by /64 prefix (conn_guard_source_key). Thread-safe (one mutex). Trust level: none;
 * it sees addresses only. QCVN 135 G11 (limits on connections per source, slowloris) / EN 303 645 5.6-9. */
#ifndef SAFECAM_CONN_GUARD_H
#define SAFECAM_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "safecam/core.h"

#define CONN_GUARD_SLOTS_MAX 1024u
#define CONN_GUARD_SOURCE_BYTES 64u /* a source key as text, NUL included */
#define CONN_GUARD_TALLY_SOURCES 8u /* sources named in one tally; the rest are counted as "others" */

enum conn_guard_state {
    CONN_GUARD_NEW = 0,     /* accepted: TLS and a first request still to come (evicted first) */
    CONN_GUARD_ACTIVE = 1,  /* a complete request seen, not authenticated (evicted second) */
    CONN_GUARD_TRUSTED = 2, /* authenticated session or running stream (never evicted by a newcomer) */
};

typedef struct conn_guard conn_guard;

/* A slot handle: index and generation, so a stale handle (slot evicted and reused) is ignored. */
typedef uint64_t conn_guard_handle;
#define CONN_GUARD_HANDLE_NONE ((conn_guard_handle)0)

/* Milliseconds on a monotonic clock; ctx as given to conn_guard_clock_set. */
typedef int64_t (*conn_guard_clock_fn)(void *ctx);

/* A table of `slots` (1..CONN_GUARD_SLOTS_MAX) slots, at most `per_source` (1..slots) per source.
 * SAFECAM_ERR_INVAL on bad sizes, SAFECAM_ERR_NOMEM. *out owned by the caller (conn_guard_free). */
int conn_guard_new(unsigned slots, unsigned per_source, conn_guard **out) SAFECAM_WUR;
void conn_guard_free(conn_guard *g);

/* Tests: replace the clock (default safecam_time_mono_ms). Call before any other use. */
void conn_guard_clock_set(conn_guard *g, conn_guard_clock_fn fn, void *ctx);

/* The source key of a peer address into out (CONN_GUARD_SOURCE_BYTES): dotted IPv4 (also for
 * IPv4-mapped IPv6), "<first 64 bits>::/64" for IPv6, "unknown" otherwise. Never fails. */
void conn_guard_source_key(const struct sockaddr *sa, char out[CONN_GUARD_SOURCE_BYTES]);

/* Admit a new connection with socket fd (>= 0; the caller's) from source (a key, 1..63 bytes), in state
 * CONN_GUARD_NEW. A source already holding its share takes the slot of its own connection that has been
 * idle (conn_guard_idle_set) the longest, which is shut down: a second browser tab or a household behind
 * one NAT address is not shut out by the first one's pooled keep-alive connections. With none idle it is
 * refused (cheap: a flooder re-opens at once, and cutting its connections that never sent a request would
 * feed that churn; its slots free up at the deadlines). When the table is full, one other connection is
 * evicted (shutdown of its fd) as described above. Returns 0 and *out, or SAFECAM_ERR_DENIED (the caller
 * closes fd; tallied as a refusal), SAFECAM_ERR_INVAL. */
int conn_guard_admit(conn_guard *g, const char *source, int fd, conn_guard_handle *out) SAFECAM_WUR;

/* Before accepting: SAFECAM_ERR_DENIED (tallied as a refusal) when source already holds its share and
 * none of its connections is idle, so the caller can close it before spending a thread or a TLS session
 * on it; else 0. conn_guard_admit still decides (two may pass the check at once). */
int conn_guard_precheck(conn_guard *g, const char *source) SAFECAM_WUR;

/* Raise (never lower) a connection's state; a stale or NONE handle is ignored. TRUSTED also clears the
 * connection's deadlines. */
void conn_guard_state_set(conn_guard *g, conn_guard_handle h, enum conn_guard_state state);

/* idle = 1: the connection was answered and waits for its next request (keep-alive), so a newcomer of its
 * own source at its share may take its place; idle = 0: a request is in progress. A connection is not
 * idle until it is first marked so. Also notes traffic (as conn_guard_touch). A stale handle is ignored. */
void conn_guard_idle_set(conn_guard *g, conn_guard_handle h, int idle);

/* Note traffic from the peer now (restarts the silence deadline of conn_guard_expire). */
void conn_guard_touch(conn_guard *g, conn_guard_handle h);

/* Give the slot back; call before closing the fd. A stale or NONE handle is ignored. */
void conn_guard_release(conn_guard *g, conn_guard_handle h);

/* Shut down every untrusted connection past a deadline: state NEW for longer than new_ms since admission,
 * or (new_ms and silent_ms > 0) any untrusted connection silent for longer than silent_ms since its last
 * touch. 0 disables a deadline. The slots stay until their owners release them. Returns how many were cut
 * by this call. */
unsigned conn_guard_expire(conn_guard *g, int64_t new_ms, int64_t silent_ms);

/* Slots in use, and in use by source (0 for an unknown source). */
unsigned conn_guard_count(conn_guard *g);
unsigned conn_guard_count_source(conn_guard *g, const char *source);

struct conn_guard_tally_source {
    char source[CONN_GUARD_SOURCE_BYTES];
    unsigned refused; /* newcomers turned away */
    unsigned evicted; /* this source's connections cut to make room */
    unsigned expired; /* this source's connections cut by conn_guard_expire */
};

struct conn_guard_tally {
    unsigned refused, evicted, expired;        /* totals, all sources */
    unsigned n;                                /* entries used in by_source */
    struct conn_guard_tally_source by_source[CONN_GUARD_TALLY_SOURCES];
};

/* Copy the counts since the last take into *out and reset them. Returns 1 if anything was counted. */
int conn_guard_tally_take(conn_guard *g, struct conn_guard_tally *out);

/* One line of text for a tally ("refused=3 evicted=7 expired=0 sources=10.0.0.1:r3/e7,..."), for the
 * operational log and the connection_flood audit event. SAFECAM_ERR_TOOBIG when out is too small. */
int conn_guard_tally_format(const struct conn_guard_tally *t, char *out, size_t out_size) SAFECAM_WUR;

#endif
