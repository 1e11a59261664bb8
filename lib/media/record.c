/* record.c — continuous recording of the main stream to DIR/recordings in sealed fragmented-MP4 segments
 * (docs/recording.md). The recorder is a consumer of the main stream's feeder (so the encoder runs while
 * recording is on): appsrc ! h264parse ! mp4mux (fragmented, 1 s fragments) ! appsink, no re-encode. The
 * muxer's bytes go straight from the appsink into the sealer (lib/record, secretstream, one message per
 * 64 KiB, TAG_PUSH at the end of each mdat box, so a unit is the init segment plus a fragment or one more fragment): no clear byte is written to the disk. Each segment
 * has its own key, made and wrapped by the vault (PROTO_VAULT_RECORDING_KEY); this process holds it only
 * while it writes that segment. The index (DIR/recordings/index.db, SQLite) gets a row once a segment is
 * finished; a start-up scan reconciles files and rows (a cut-off segment is listed as incomplete, a row
 * without its file goes). Retention by age and size runs after every segment, oldest first, and never
 * removes the newest minute. Playback is decrypted by the vault (web hands it the sealed fd).
 * Runs in safecam-media on the GLib main loop (the appsink callback on the recorder's streaming thread).
 * QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "media_internal.h"
#include "safecam/audit.h"
#include "safecam/record.h"
#include "safecam/statedir.h"

#define REC_TICK_MS 500
#define REC_QUEUE_MAX_BYTES (8u << 20)         /* appsrc backlog before frames are skipped to a keyframe */
#define REC_EOS_WAIT_US (5 * G_USEC_PER_SEC)   /* a closing segment's muxer gets this long to flush */
#define REC_KEEP_NEWEST_MS (60 * 1000)         /* retention never removes what ended in the last minute */
#define REC_CUT_BYTES (RECORD_SEGMENT_MAX_BYTES - (8u << 20))
#define REC_SUFFIX ".seg"
#define REC_WIPE_CHUNK ((size_t)64 * 1024)
#define REC_LIST_MAX 1000
#define REC_DELETE_MAX 1000
#define REC_RETENTION_BATCH 256

struct rec_segment {
    media_recorder *rec;
    GstElement *pipeline;
    guint consumer;
    guint bus_watch;
    GMutex lock;
    record_writer *w; /* holds the segment key (sodium_malloc'd) until the segment is closed */
    int fd;
    uint8_t id[RECORD_ID_BYTES];
    char idhex[RECORD_ID_HEX + 1];
    int64_t start_ms;
    gint64 started_us, closing_since_us;
    gboolean eos, failed, closing;
    /* top-level MP4 box walker: a unit ends with each mdat or mfra box */
    uint8_t bh[16];
    size_t bh_got;
    uint64_t box_left;
    gboolean box_unit_end;
    /* "events" mode: fed by the tap (pre-roll first), not attached to the feeder */
    gboolean event;
    GstElement *src;    /* its appsrc (ref), events mode only */
    gboolean need_key;  /* under the recorder's ev_lock: waiting for a keyframe */
    GstClockTime base;  /* tap PTS of its first access unit (its own PTS 0) */
    GstClockTime last;  /* its own PTS of the last access unit pushed, NONE before the first */
};

struct media_recorder {
    media_service *svc;
    struct media_vault_ops vault;
    char dir[PATH_MAX];
    sqlite3 *db;
    struct config_recording cfg;
    struct rec_segment *cur;
    GList *closing; /* struct rec_segment * flushing */
    guint tick;
    gboolean warned_key, warned_write;

    /* "events" mode (docs/recording.md): the tap is a consumer of the main stream kept while pre_roll_s > 0 or
     * an event is being recorded; its access units go into the pre-roll ring and to the event segment. */
    GMutex ev_lock;             /* everything below marked (L): the tap's, the analysis' and the main threads */
    GQueue ring;                /* (L) GstBuffer * (tap PTS), oldest first, starting at a keyframe */
    guint64 ring_bytes;         /* (L) */
    gint64 ring_keep_ns;        /* (L) pre_roll_s in ns */
    gboolean ring_hold;         /* (L) a segment is being opened: nothing is trimmed but by the byte bound */
    struct rec_segment *feed;   /* (L) the event segment the tap feeds */
    struct rec_segment *next;   /* (L) the one after a cut, started at the next keyframe */
    struct rec_segment *retired;/* (L) the one the tap left at that keyframe: the main loop closes it */
    GstClockTime written_pts;   /* (L) tap PTS of the last access unit an event segment took, NONE before any */
    GstElement *tap;            /* main loop: appsrc ! appsink, its consumer id */
    guint tap_consumer;
    guint8 *prev;               /* (L) the previous analysis frame, MEDIA_MOTION_WIDTH x HEIGHT */
    gboolean have_prev;         /* (L) */
    int prev_mean;              /* (L) */
    int motion_hits;            /* (L) consecutive frames with motion */
    int sensitivity;            /* (L) */
    gint64 motion_last_us;      /* (L) monotonic time of the last frame with motion, 0 none */
    gint64 motion_first_ms;     /* (L) wall time of the first frame of the current run of motion */
    gboolean motion_analysing;  /* main loop */
    gboolean in_event;          /* main loop: motion seen within the post-roll */
    gint64 event_seen_us;       /* main loop: motion_last_us already counted */
    gint64 last_audit_us;       /* main loop */
};

static void audit_note(media_recorder *r, const char *type, const char *detail)
{
    if (r->vault.audit)
        r->vault.audit(r->vault.ctx, type, NULL, detail);
}

/* ------------------------------------------------------------------------------------------------ */
/* The index                                                                                         */

static int db_exec(media_recorder *r, const char *sql)
{
    return sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : SAFECAM_ERR_IO;
}

static int db_open(media_recorder *r)
{
    char path[PATH_MAX];
    if (safecam_path_join(path, sizeof path, r->dir, "index.db") != 0)
        return SAFECAM_ERR_TOOBIG;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        log_err("recordings: cannot open the index: %s", r->db ? sqlite3_errmsg(r->db) : "?");
        return SAFECAM_ERR_IO;
    }
    sqlite3_busy_timeout(r->db, 1000);
    if (db_exec(r, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
                   "CREATE TABLE IF NOT EXISTS segments(id TEXT PRIMARY KEY, start_ms INTEGER NOT NULL,"
                   " end_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, complete INTEGER NOT NULL);"
                   "CREATE INDEX IF NOT EXISTS segments_start ON segments(start_ms);") != 0) {
        log_err("recordings: cannot set up the index: %s", sqlite3_errmsg(r->db));
        return SAFECAM_ERR_IO;
    }
    /* the event column (NULL: continuous, "motion"): added to an index made before it existed */
    sqlite3_stmt *st = NULL;
    int has_event = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM pragma_table_info('segments') WHERE name = 'event'", -1, &st,
                           NULL) == SQLITE_OK)
        has_event = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if ((!has_event && db_exec(r, "ALTER TABLE segments ADD COLUMN event TEXT;") != 0) ||
        db_exec(r, "CREATE INDEX IF NOT EXISTS segments_event_start ON segments(event, start_ms);") != 0) {
        log_err("recordings: cannot add the event column: %s", sqlite3_errmsg(r->db));
        return SAFECAM_ERR_IO;
    }
    return 0;
}

/* event: NULL (continuous) or "motion". */
static int db_insert(media_recorder *r, const char *id, int64_t start_ms, int64_t end_ms, int64_t bytes, int complete,
                     const char *event)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db,
                           "INSERT OR REPLACE INTO segments(id, start_ms, end_ms, bytes, complete, event) "
                           "VALUES(?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    if (event)
        sqlite3_bind_text(st, 6, event, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, start_ms);
    sqlite3_bind_int64(st, 3, end_ms);
    sqlite3_bind_int64(st, 4, bytes);
    sqlite3_bind_int(st, 5, complete);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

static int db_delete(media_recorder *r, const char *id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, "DELETE FROM segments WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

/* 1 if a row for id exists, 0 if not, < 0 on error. */
static int db_has(media_recorder *r, const char *id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM segments WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
}

/* ------------------------------------------------------------------------------------------------ */
/* Files                                                                                             */

static int seg_path(media_recorder *r, const char *idhex, char *out, size_t out_size)
{
    char name[RECORD_ID_HEX + sizeof REC_SUFFIX];
    if (safecam_fmt(name, sizeof name, "%s" REC_SUFFIX, idhex) != 0)
        return SAFECAM_ERR_TOOBIG;
    return safecam_path_join(out, out_size, r->dir, name);
}

/* Overwrite with zeros, fsync, unlink. Gone already: success. (On flash with wear levelling the overwrite is
 * best effort; the storage key's destruction at factory reset is the guarantee.) */
static int wipe_unlink(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    if (S_ISREG(sb.st_mode)) {
        int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            static const uint8_t zeros[REC_WIPE_CHUNK];
            off_t off = 0;
            int bound = 0;
            while (off < sb.st_size && bound++ < (int)(RECORD_SEGMENT_MAX_BYTES * 2 / REC_WIPE_CHUNK)) {
                size_t n = (size_t)(sb.st_size - off) < REC_WIPE_CHUNK ? (size_t)(sb.st_size - off) : REC_WIPE_CHUNK;
                ssize_t w = pwrite(fd, zeros, n, off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break; /* storage full or failing: the unlink below still removes it */
                off += w;
            }
            (void)fsync(fd);
            close(fd);
        }
    }
    return unlink(path) == 0 || errno == ENOENT ? 0 : SAFECAM_ERR_IO;
}

/* Remove one segment (file, then row). */
static int seg_remove(media_recorder *r, const char *idhex)
{
    char path[PATH_MAX];
    int rc = seg_path(r, idhex, path, sizeof path);
    if (rc == 0)
        rc = wipe_unlink(path);
    if (rc == 0)
        rc = db_delete(r, idhex);
    return rc;
}

/* Start-up: a file without a row (cut off by kill -9 or power loss) is listed as incomplete (its header gives
 * the start; playback recovers it up to its last whole fragment); an unreadable file goes; a row without a
 * file goes. Bounded by the directory's size. */
static void reconcile(media_recorder *r)
{
    DIR *d = opendir(r->dir);
    int added = 0, removed = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n != RECORD_ID_HEX + strlen(REC_SUFFIX) || strcmp(e->d_name + RECORD_ID_HEX, REC_SUFFIX) != 0)
                continue;
            char idhex[RECORD_ID_HEX + 1];
            uint8_t id[RECORD_ID_BYTES];
            memcpy(idhex, e->d_name, RECORD_ID_HEX);
            idhex[RECORD_ID_HEX] = '\0';
            char path[PATH_MAX];
            if (record_id_parse(idhex, id) != 0 || seg_path(r, idhex, path, sizeof path) != 0)
                continue;
            if (db_has(r, idhex) != 0)
                continue;
            uint8_t hb[RECORD_HEADER_BYTES];
            struct record_header h;
            struct stat sb;
            int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int ok = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     pread(fd, hb, sizeof hb, 0) == (ssize_t)sizeof hb && record_header_parse(hb, sizeof hb, &h) == 0 &&
                     memcmp(h.id, id, sizeof id) == 0 && h.start_ms >= 0 &&
                     (uint64_t)sb.st_size > RECORD_HEADER_BYTES + RECORD_MSG_OVERHEAD;
            if (fd >= 0)
                close(fd);
            if (ok) {
                int64_t end = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
                if (end < h.start_ms)
                    end = h.start_ms;
                /* a cut-off segment's kind is not in its header: listed as continuous */
                if (db_insert(r, idhex, h.start_ms, end, (int64_t)sb.st_size, 0, NULL) == 0)
                    added++;
            } else if (wipe_unlink(path) == 0) {
                removed++;
            }
        }
        closedir(d);
    }
    /* rows without a file */
    sqlite3_stmt *st = NULL;
    GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
    if (sqlite3_prepare_v2(r->db, "SELECT id FROM segments", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            char path[PATH_MAX];
            uint8_t b[RECORD_ID_BYTES];
            if (!id || record_id_parse(id, b) != 0 || seg_path(r, id, path, sizeof path) != 0 ||
                access(path, F_OK) != 0)
                g_ptr_array_add(gone, g_strdup(id ? id : ""));
        }
    }
    sqlite3_finalize(st);
    for (guint i = 0; i < gone->len; i++)
        if (db_delete(r, g_ptr_array_index(gone, i)) == 0)
            removed++;
    g_ptr_array_free(gone, TRUE);
    if (added || removed)
        log_info("recordings: start-up scan listed %d cut-off segment(s), removed %d orphan(s)", added, removed);
}

/* ------------------------------------------------------------------------------------------------ */
/* Retention                                                                                         */

static int64_t now_ms(void)
{
    return (int64_t)(g_get_real_time() / 1000);
}

static int64_t total_bytes(media_recorder *r)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(r->db, "SELECT coalesce(sum(bytes),0) FROM segments", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Oldest first: by age (retention_days), then by size (max_bytes, the segment being written counted too).
 * extra_bytes: space to free beyond max_bytes (storage full). Never a segment that ended in the last minute. */
static int retention_run(media_recorder *r, int64_t extra_bytes)
{
    int removed = 0;
    int64_t now = now_ms();
    int64_t keep_after = now - REC_KEEP_NEWEST_MS;
    if (r->cfg.retention_days > 0) {
        int64_t cutoff = now - (int64_t)r->cfg.retention_days * 86400 * 1000;
        for (int round = 0; round < 64; round++) {
            sqlite3_stmt *st = NULL;
            GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
            if (sqlite3_prepare_v2(r->db, "SELECT id FROM segments WHERE end_ms < ? AND end_ms < ? ORDER BY start_ms LIMIT ?",
                                   -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_int64(st, 1, cutoff);
                sqlite3_bind_int64(st, 2, keep_after);
                sqlite3_bind_int(st, 3, REC_RETENTION_BATCH);
                while (sqlite3_step(st) == SQLITE_ROW)
                    g_ptr_array_add(ids, g_strdup((const char *)sqlite3_column_text(st, 0)));
            }
            sqlite3_finalize(st);
            guint n = ids->len;
            for (guint i = 0; i < n; i++)
                if (seg_remove(r, g_ptr_array_index(ids, i)) == 0)
                    removed++;
            g_ptr_array_free(ids, TRUE);
            if (n < REC_RETENTION_BATCH)
                break;
        }
    }
    if (r->cfg.max_bytes > 0 || extra_bytes > 0) {
        int64_t cur = r->cur && r->cur->w ? (int64_t)record_writer_file_bytes(r->cur->w) : 0;
        int64_t limit = r->cfg.max_bytes > 0 ? r->cfg.max_bytes : INT64_MAX / 2;
        int64_t total = total_bytes(r) + cur;
        for (int i = 0; i < 100000 && total + extra_bytes > limit; i++) {
            sqlite3_stmt *st = NULL;
            char id[RECORD_ID_HEX + 1] = "";
            int64_t bytes = 0;
            if (sqlite3_prepare_v2(r->db, "SELECT id, bytes FROM segments WHERE end_ms < ? ORDER BY start_ms LIMIT 1",
                                   -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_int64(st, 1, keep_after);
                if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
                    safecam_strlcpy(id, (const char *)sqlite3_column_text(st, 0), sizeof id) == 0)
                    bytes = sqlite3_column_int64(st, 1);
                else
                    id[0] = '\0';
            }
            sqlite3_finalize(st);
            if (!id[0] || seg_remove(r, id) != 0)
                break; /* nothing older than the newest minute left */
            removed++;
            total -= bytes;
            extra_bytes = 0;
        }
    }
    return removed;
}

/* ------------------------------------------------------------------------------------------------ */
/* Segments                                                                                          */

static void seg_write_failed(struct rec_segment *s, int rc)
{
    s->failed = TRUE;
    if (!s->rec->warned_write) {
        s->rec->warned_write = TRUE;
        int full = errno == ENOSPC;
        log_err("recordings: cannot write a segment (%s%s)", safecam_err_name(rc), full ? ", storage full" : "");
        audit_note(s->rec, AUDIT_STREAM_ERROR,
                   full ? "recording: storage full, oldest segments are removed" : "recording: cannot write a segment");
    }
}

/* Called with s->lock held: seal `len` muxer bytes, ending a unit at the end of each mdat or mfra box. */
static void seg_feed_locked(struct rec_segment *s, const uint8_t *p, size_t len)
{
    size_t bound = len + 64; /* each turn consumes at least one byte */
    while (len && !s->failed && bound--) {
        if (s->box_left == 0) {
            /* collect a box header: 8 bytes, or 16 with a 64-bit size */
            size_t need = s->bh_got < 8 ? 8 : 16;
            size_t take = need - s->bh_got < len ? need - s->bh_got : len;
            memcpy(s->bh + s->bh_got, p, take);
            s->bh_got += take;
            int rc = record_writer_push(s->w, p, take, 0);
            if (rc != 0) {
                seg_write_failed(s, rc);
                return;
            }
            p += take;
            len -= take;
            if (s->bh_got < 8)
                continue;
            uint64_t size = ((uint64_t)s->bh[0] << 24) | ((uint64_t)s->bh[1] << 16) | ((uint64_t)s->bh[2] << 8) | s->bh[3];
            if (size == 1 && s->bh_got < 16)
                continue;
            size_t hl = 8;
            if (size == 1) {
                size = 0;
                for (int i = 8; i < 16; i++)
                    size = (size << 8) | s->bh[i];
                hl = 16;
            }
            /* the init segment (ftyp, moov) is no unit by itself: a file cut off before its first whole
             * fragment recovers nothing and is refused, rather than played as an empty video */
            s->box_unit_end = memcmp(s->bh + 4, "mdat", 4) == 0 || memcmp(s->bh + 4, "mfra", 4) == 0;
            s->bh_got = 0;
            if (size < hl) { /* size 0 (to the end) or malformed: no more unit boundaries in this segment */
                s->box_left = UINT64_MAX;
                s->box_unit_end = FALSE;
            } else {
                s->box_left = size - hl;
            }
            if (s->box_left == 0 && s->box_unit_end && record_writer_push(s->w, NULL, 0, 1) != 0)
                seg_write_failed(s, SAFECAM_ERR_IO);
            continue;
        }
        size_t take = s->box_left < len ? (size_t)s->box_left : len;
        int end = take == s->box_left && s->box_unit_end;
        int rc = record_writer_push(s->w, p, take, end);
        if (rc != 0) {
            seg_write_failed(s, rc);
            return;
        }
        if (s->box_left != UINT64_MAX)
            s->box_left -= take;
        p += take;
        len -= take;
    }
}

static GstFlowReturn seg_on_sample(GstAppSink *sink, gpointer user)
{
    struct rec_segment *s = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        g_mutex_lock(&s->lock);
        if (s->w && !s->failed)
            seg_feed_locked(s, map.data, map.size);
        g_mutex_unlock(&s->lock);
        gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static gboolean seg_bus_cb(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    struct rec_segment *s = user;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS)
        s->eos = TRUE;
    else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *err = NULL;
        gst_message_parse_error(msg, &err, NULL);
        log_warn("recordings: muxer error: %s", err ? err->message : "?");
        g_clear_error(&err);
        s->failed = TRUE;
        s->eos = TRUE;
    }
    return G_SOURCE_CONTINUE;
}

/* Finish (seal the final message, fsync), wipe the key, list the segment. Main loop, after EOS. */
static void seg_finalize(struct rec_segment *s)
{
    media_recorder *r = s->rec;
    if (s->pipeline) {
        gst_element_set_state(s->pipeline, GST_STATE_NULL);
        if (s->bus_watch)
            g_source_remove(s->bus_watch);
        gst_object_unref(s->pipeline);
        s->pipeline = NULL;
    }
    g_mutex_lock(&s->lock);
    uint64_t clear = record_writer_clear_bytes(s->w);
    int rc = s->w && !s->failed ? record_writer_finish(s->w) : SAFECAM_ERR_IO;
    uint64_t file_bytes = record_writer_file_bytes(s->w);
    record_writer_free(s->w); /* the segment key is wiped here */
    s->w = NULL;
    g_mutex_unlock(&s->lock);
    if (s->fd >= 0) {
        if (fsync(s->fd) != 0 && rc == 0)
            rc = SAFECAM_ERR_IO;
        close(s->fd);
        s->fd = -1;
    }
    char path[PATH_MAX];
    /* an event segment ends with its last access unit (its start is its first one's), not when its muxer has
     * flushed */
    int64_t end_ms = s->event && GST_CLOCK_TIME_IS_VALID(s->last) ? s->start_ms + (int64_t)(s->last / GST_MSECOND) + 40
                                                                  : now_ms();
    if (clear == 0 || seg_path(r, s->idhex, path, sizeof path) != 0) {
        if (seg_path(r, s->idhex, path, sizeof path) == 0)
            (void)wipe_unlink(path);
    } else if (db_insert(r, s->idhex, s->start_ms, end_ms, (int64_t)file_bytes, rc == 0, s->event ? "motion" : NULL) !=
               0) {
        log_err("recordings: cannot list a segment: %s", sqlite3_errmsg(r->db));
    } else if (rc == 0 && r->vault.segment_sealed) {
        /* a linked WebDAV folder may want it (the vault hands it on to the link process, sealed) */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0)
            r->vault.segment_sealed(r->vault.ctx, s->idhex, s->start_ms, end_ms, s->event ? "motion" : NULL, fd);
    }
    if (s->src)
        gst_object_unref(s->src);
    g_mutex_clear(&s->lock);
    g_free(s);
}

/* Detach from the feeder and let the muxer flush its last fragment. */
static void seg_close(struct rec_segment *s)
{
    media_recorder *r = s->rec;
    if (s->consumer)
        media_feeder_detach(r->svc, MEDIA_STREAM_MAIN, s->consumer);
    s->consumer = 0;
    s->closing = TRUE;
    s->closing_since_us = g_get_monotonic_time();
    GstElement *src = s->pipeline ? gst_bin_get_by_name(GST_BIN(s->pipeline), "src") : NULL;
    if (src) {
        gst_app_src_end_of_stream(GST_APP_SRC(src));
        gst_object_unref(src);
    } else {
        s->eos = TRUE;
    }
    r->closing = g_list_append(r->closing, s);
}

/* A new segment starting at start_ms (wall clock). event: fed by the tap (events mode), else a consumer of
 * the main stream's feeder. */
static struct rec_segment *seg_open(media_recorder *r, gboolean event, int64_t start_ms)
{
    struct rec_segment *s = g_new0(struct rec_segment, 1);
    uint8_t key[RECORD_KEY_BYTES], wrapped[RECORD_WRAPPED_BYTES];
    char path[PATH_MAX];
    g_mutex_init(&s->lock);
    s->rec = r;
    s->fd = -1;
    randombytes_buf(s->id, sizeof s->id);
    record_id_format(s->id, s->idhex);
    s->start_ms = start_ms;
    s->started_us = g_get_monotonic_time();
    s->event = event;
    s->need_key = TRUE;
    s->base = GST_CLOCK_TIME_NONE;
    s->last = GST_CLOCK_TIME_NONE;
    int rc = r->vault.recording_key ? r->vault.recording_key(r->vault.ctx, s->idhex, s->start_ms, key, wrapped)
                                    : SAFECAM_ERR_STATE;
    if (rc != 0) {
        if (!r->warned_key)
            log_warn("recordings: no segment key from the vault (%s); retrying", safecam_err_name(rc));
        r->warned_key = TRUE;
        goto fail;
    }
    r->warned_key = FALSE;
    if (seg_path(r, s->idhex, path, sizeof path) != 0)
        goto fail;
    s->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->fd < 0 || record_writer_open(s->fd, s->id, s->start_ms, key, wrapped, &s->w) != 0) {
        if (!r->warned_write)
            log_err("recordings: cannot start a segment: %s", strerror(errno));
        r->warned_write = TRUE;
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
            (void)wipe_unlink(path);
        }
        goto fail;
    }
    sodium_memzero(key, sizeof key);
    GError *err = NULL;
    s->pipeline = gst_parse_launch("appsrc name=src is-live=true format=time do-timestamp=true block=false ! "
                                   "h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
                                   "mp4mux fragment-duration=1000 streamable=true ! "
                                   "appsink name=sink sync=false async=false",
                                   &err);
    if (!s->pipeline || err) {
        log_err("recordings: cannot build the muxer: %s", err ? err->message : "?");
        g_clear_error(&err);
        goto fail_file;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(s->pipeline), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(s->pipeline), "sink");
    GstAppSinkCallbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.new_sample = seg_on_sample;
    if (sink)
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, s, NULL);
    GstBus *bus = gst_element_get_bus(s->pipeline);
    s->bus_watch = gst_bus_add_watch(bus, seg_bus_cb, s);
    gst_object_unref(bus);
    gboolean ok = FALSE;
    if (src && sink && event) {
        GstCaps *caps = media_feeder_caps(r->svc, MEDIA_STREAM_MAIN);
        gst_app_src_set_caps(GST_APP_SRC(src), caps);
        if (caps)
            gst_caps_unref(caps);
        if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
            s->src = gst_object_ref(src);
            ok = TRUE;
        }
    } else if (src && sink && gst_element_set_state(s->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
        s->consumer = media_feeder_attach(r->svc, MEDIA_STREAM_MAIN, src, REC_QUEUE_MAX_BYTES, FALSE);
        ok = s->consumer != 0;
    }
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    if (!ok)
        goto fail_file;
    r->warned_write = FALSE;
    return s;
fail_file:
    s->failed = TRUE;
    s->eos = TRUE;
    seg_finalize(s); /* no clear byte sealed: the file goes */
    return NULL;
fail:
    sodium_memzero(key, sizeof key);
    if (s->pipeline)
        gst_object_unref(s->pipeline);
    g_mutex_clear(&s->lock);
    g_free(s);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* "events" mode: motion analysis, the pre-roll ring, the event segments                           */

#define EV_RING_MAX_BYTES (8u << 20) /* the pre-roll ring's bound in bytes, whatever pre_roll_s says */
#define EV_RING_MAX_BUFFERS 4096u    /* and in access units (60 s at 60 fps is 3600) */
#define EV_TAP_MAX_BYTES (2u << 20)  /* the tap's appsrc backlog before it skips to a keyframe */
#define EV_MOTION_FRAMES 2           /* consecutive analysed frames with motion that start an event */
#define EV_MIN_POST_US (1 * G_USEC_PER_SEC) /* post_roll_s 0: an event ends 1 s after the last motion */

static gboolean buf_is_key(GstBuffer *b)
{
    return !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
}

/* Push one access unit (tap PTS) into event segment s: from a keyframe on, its PTS made relative to the
 * segment's first. Its appsrc over REC_QUEUE_MAX_BYTES beyond the ring (storage too slow): skip to the next
 * keyframe. TRUE when s took it.
 * Called with ev_lock held. */
static gboolean ev_seg_push_locked(struct rec_segment *s, GstBuffer *b)
{
    if (!s->src || s->failed)
        return FALSE;
    gboolean key = buf_is_key(b);
    if (s->need_key && !key)
        return FALSE;
    /* room for the whole ring (pushed at once when the event starts) plus the usual backlog */
    if (gst_app_src_get_current_level_bytes(GST_APP_SRC(s->src)) > REC_QUEUE_MAX_BYTES + EV_RING_MAX_BYTES) {
        s->need_key = TRUE;
        return FALSE;
    }
    GstClockTime pts = GST_BUFFER_PTS(b);
    if (!GST_CLOCK_TIME_IS_VALID(pts))
        return FALSE;
    if (!GST_CLOCK_TIME_IS_VALID(s->base))
        s->base = pts;
    s->need_key = FALSE;
    GstBuffer *copy = gst_buffer_copy(b); /* shares the memory */
    GST_BUFFER_PTS(copy) = pts >= s->base ? pts - s->base : 0;
    GST_BUFFER_DTS(copy) = GST_BUFFER_PTS(copy);
    s->last = GST_BUFFER_PTS(copy);
    (void)gst_app_src_push_buffer(GST_APP_SRC(s->src), copy);
    return TRUE;
}

static void ring_drop_head_locked(media_recorder *r)
{
    GstBuffer *b = g_queue_pop_head(&r->ring);
    if (b) {
        r->ring_bytes -= gst_buffer_get_size(b);
        gst_buffer_unref(b);
    }
}

static void ring_clear_locked(media_recorder *r)
{
    for (guint i = 0; i < EV_RING_MAX_BUFFERS + 16 && r->ring.length; i++)
        ring_drop_head_locked(r);
}

/* Keep the last ring_keep_ns from a keyframe: the newest keyframe at or before (newest - keep) is the head.
 * Over EV_RING_MAX_BYTES or EV_RING_MAX_BUFFERS the oldest GOP goes whatever its age. ev_lock held. */
static void ring_trim_locked(media_recorder *r)
{
    for (guint round = 0; round < EV_RING_MAX_BUFFERS && r->ring.length; round++) {
        gboolean over = r->ring_bytes > EV_RING_MAX_BYTES || r->ring.length > EV_RING_MAX_BUFFERS;
        GstBuffer *head = g_queue_peek_head(&r->ring);
        if (!buf_is_key(head)) { /* a ring starts at a keyframe */
            ring_drop_head_locked(r);
            continue;
        }
        if (!over && r->ring_hold)
            return;
        /* the next keyframe after the head */
        GstBuffer *tail = g_queue_peek_tail(&r->ring), *k = NULL;
        guint at = 0;
        for (GList *l = r->ring.head ? r->ring.head->next : NULL; l; l = l->next, at++)
            if (buf_is_key(l->data)) {
                k = l->data;
                break;
            }
        if (!over) {
            if (!k || GST_BUFFER_PTS(tail) < GST_BUFFER_PTS(k) ||
                GST_BUFFER_PTS(tail) - GST_BUFFER_PTS(k) < (GstClockTime)r->ring_keep_ns)
                return;
        }
        /* drop the head's GOP (all of the ring when there is no later keyframe) */
        for (guint i = 0; i <= at && r->ring.length; i++)
            ring_drop_head_locked(r);
        if (!k)
            ring_clear_locked(r);
    }
}

/* The tap's appsink (its streaming thread): ring, cut to the next segment at a keyframe, feed. */
static GstFlowReturn tap_on_sample(GstAppSink *sink, gpointer user)
{
    media_recorder *r = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer *b = gst_sample_get_buffer(sample);
    if (b && GST_CLOCK_TIME_IS_VALID(GST_BUFFER_PTS(b))) {
        g_mutex_lock(&r->ev_lock);
        if (r->ring_keep_ns > 0 && (r->ring.length || buf_is_key(b))) {
            g_queue_push_tail(&r->ring, gst_buffer_ref(b));
            r->ring_bytes += gst_buffer_get_size(b);
            ring_trim_locked(r);
        }
        if (r->next && buf_is_key(b) && !r->retired) {
            r->retired = r->feed;
            r->feed = r->next;
            r->next = NULL;
        }
        if (r->feed && ev_seg_push_locked(r->feed, b))
            r->written_pts = GST_BUFFER_PTS(b);
        g_mutex_unlock(&r->ev_lock);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static void tap_stop(media_recorder *r)
{
    if (r->tap_consumer)
        media_feeder_detach(r->svc, MEDIA_STREAM_MAIN, r->tap_consumer);
    r->tap_consumer = 0;
    if (r->tap) {
        gst_element_set_state(r->tap, GST_STATE_NULL); /* its streaming thread has stopped */
        gst_object_unref(r->tap);
        r->tap = NULL;
    }
    g_mutex_lock(&r->ev_lock);
    ring_clear_locked(r);
    r->written_pts = GST_CLOCK_TIME_NONE; /* a new tap's stamps start again */
    g_mutex_unlock(&r->ev_lock);
}

static void tap_start(media_recorder *r)
{
    if (r->tap)
        return;
    GError *err = NULL;
    GstElement *p = gst_parse_launch("appsrc name=src is-live=true format=time do-timestamp=true block=false ! "
                                     "appsink name=sink sync=false async=false",
                                     &err);
    if (!p || err) {
        log_err("recordings: cannot build the pre-roll tap: %s", err ? err->message : "?");
        g_clear_error(&err);
        if (p)
            gst_object_unref(p);
        return;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
    if (src && sink) {
        GstAppSinkCallbacks cb;
        memset(&cb, 0, sizeof cb);
        cb.new_sample = tap_on_sample;
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, r, NULL);
        r->tap = p;
        if (gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
            r->tap_consumer = media_feeder_attach(r->svc, MEDIA_STREAM_MAIN, src, EV_TAP_MAX_BYTES, FALSE);
    } else {
        gst_object_unref(p);
    }
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    if (r->tap && !r->tap_consumer)
        tap_stop(r);
}

/* Motion analysis (media_motion_fn; the analysis thread): the share of pixels whose brightness, relative to
 * the frame's mean (so a global exposure change counts less), changed by more than a threshold since the
 * previous analysed frame (200 ms before). motion_sensitivity 1..100 sets both: the pixel threshold from 50
 * (1) down to 10 (100) grey levels, the share from 1.1 % (1) down to 0.1 % (100) of the 160 x 90 pixels;
 * 50 gives 30 levels and 0.6 % (86 pixels). Motion in EV_MOTION_FRAMES analysed frames in a row counts. */
static void motion_frame(void *user, const guint8 *grey, int stride)
{
    media_recorder *r = user;
    const int w = MEDIA_MOTION_WIDTH, h = MEDIA_MOTION_HEIGHT;
    guint64 sum = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            sum += grey[(size_t)y * (size_t)stride + (size_t)x];
    int mean = (int)(sum / (guint64)(w * h));
    g_mutex_lock(&r->ev_lock);
    if (!r->prev)
        r->prev = g_malloc((size_t)w * h);
    int sens = r->sensitivity;
    int thr = 10 + (100 - sens) * 40 / 99;
    int need = w * h * (1 + (100 - sens) * 10 / 99) / 1000;
    int changed = 0;
    for (int y = 0; y < h; y++) {
        const guint8 *row = grey + (size_t)y * (size_t)stride;
        guint8 *prow = r->prev + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int d = ((int)row[x] - mean) - ((int)prow[x] - r->prev_mean);
            if (r->have_prev && (d > thr || d < -thr))
                changed++;
            prow[x] = row[x];
        }
    }
    gboolean moving = r->have_prev && changed > need;
    r->have_prev = TRUE;
    r->prev_mean = mean;
    r->motion_hits = moving ? r->motion_hits + 1 : 0;
    if (r->motion_hits == EV_MOTION_FRAMES) {
        gint64 now = g_get_monotonic_time();
        if (!r->motion_last_us || now - r->motion_last_us > EV_MIN_POST_US)
            r->motion_first_ms = now_ms() - 200 * (EV_MOTION_FRAMES - 1);
    }
    if (r->motion_hits >= EV_MOTION_FRAMES)
        r->motion_last_us = g_get_monotonic_time();
    g_mutex_unlock(&r->ev_lock);
}

/* Turn the analysis on in events mode, off otherwise. Main loop. */
static void motion_sync(media_recorder *r)
{
    gboolean want = r->cfg.mode == CONFIG_RECORDING_EVENTS;
    g_mutex_lock(&r->ev_lock);
    r->sensitivity = r->cfg.motion_sensitivity;
    r->ring_keep_ns = (gint64)r->cfg.pre_roll_s * GST_SECOND;
    if (want != r->motion_analysing) {
        r->have_prev = FALSE;
        r->motion_hits = 0;
        r->motion_last_us = 0;
    }
    g_mutex_unlock(&r->ev_lock);
    if (want != r->motion_analysing) {
        r->motion_analysing = want;
        r->in_event = FALSE;
        media_service_motion_set(r->svc, want ? motion_frame : NULL, want ? r : NULL);
    }
}

/* Leave the event segments (the tap stops feeding them) and close them. Main loop. */
static void ev_segments_close(media_recorder *r)
{
    g_mutex_lock(&r->ev_lock);
    struct rec_segment *segs[3] = {r->feed, r->next, r->retired};
    r->feed = r->next = r->retired = NULL;
    r->ring_hold = FALSE;
    g_mutex_unlock(&r->ev_lock);
    for (int i = 0; i < 3; i++)
        if (segs[i])
            seg_close(segs[i]);
    if (r->cur && r->cur->event)
        r->cur = NULL; /* it was one of the above */
}

/* The first keyframe of the ring after what an event segment already took (the pre-roll a new event starts
 * with), or NULL. ev_lock held. */
static GstBuffer *ring_unwritten_key_locked(media_recorder *r)
{
    for (GList *l = r->ring.head; l; l = l->next)
        if (buf_is_key(l->data) &&
            (!GST_CLOCK_TIME_IS_VALID(r->written_pts) || GST_BUFFER_PTS(l->data) > r->written_pts))
            return l->data;
    return NULL;
}

/* Open an event segment and start it with the ring (the pre-roll, from a keyframe); its start is the wall
 * time of the first access unit. first: the event's first segment (else a cut: it starts at the next
 * keyframe, r->next). Main loop. */
static void ev_segment_start(media_recorder *r, gboolean first)
{
    int64_t back_ms = 0;
    g_mutex_lock(&r->ev_lock);
    if (first) {
        r->ring_hold = TRUE; /* keep the pre-roll while the vault makes the key */
        GstBuffer *h = ring_unwritten_key_locked(r), *t = g_queue_peek_tail(&r->ring);
        if (h && t && GST_BUFFER_PTS(t) >= GST_BUFFER_PTS(h))
            back_ms = (int64_t)((GST_BUFFER_PTS(t) - GST_BUFFER_PTS(h)) / GST_MSECOND);
    }
    g_mutex_unlock(&r->ev_lock);
    struct rec_segment *s = seg_open(r, TRUE, now_ms() - back_ms);
    g_mutex_lock(&r->ev_lock);
    r->ring_hold = FALSE;
    if (s && first) {
        /* the pre-roll, less what the previous event's segment already holds (its post-roll): events that
         * follow each other closely never record the same moment twice */
        for (GList *l = r->ring.head; l; l = l->next)
            if ((!GST_CLOCK_TIME_IS_VALID(r->written_pts) || GST_BUFFER_PTS(l->data) > r->written_pts) &&
                ev_seg_push_locked(s, l->data))
                r->written_pts = GST_BUFFER_PTS(l->data);
        r->feed = s;
    } else if (s) {
        r->next = s;
    }
    g_mutex_unlock(&r->ev_lock);
    if (s && first) {
        s->started_us -= back_ms * 1000; /* segment_seconds counts from its first access unit */
        r->cur = s;
    }
    if (s)
        media_feeder_request_keyframe(r->svc, MEDIA_STREAM_MAIN);
}

/* The events-mode part of the tick. Main loop. */
static void ev_tick(media_recorder *r, gint64 now)
{
    gboolean on = r->cfg.mode == CONFIG_RECORDING_EVENTS;
    gint64 last = 0, first_ms = 0;
    struct rec_segment *retired = NULL, *feed = NULL;
    gboolean cut_pending = FALSE;
    g_mutex_lock(&r->ev_lock);
    last = r->motion_last_us;
    first_ms = r->motion_first_ms;
    retired = r->retired;
    r->retired = NULL;
    feed = r->feed;
    cut_pending = r->next != NULL;
    g_mutex_unlock(&r->ev_lock);
    if (retired)
        seg_close(retired);
    if (feed)
        r->cur = feed;
    gint64 post = (gint64)r->cfg.post_roll_s * G_USEC_PER_SEC;
    if (post < EV_MIN_POST_US)
        post = EV_MIN_POST_US;
    gboolean motion = on && last > 0 && now - last <= post;
    if (motion && !r->in_event) {
        r->in_event = TRUE;
        /* one audit event per event, and at most one per post-roll window */
        if (!r->last_audit_us || now - r->last_audit_us >= post) {
            r->last_audit_us = now;
            GDateTime *dt = g_date_time_new_from_unix_utc(first_ms / 1000);
            gchar *iso = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S") : NULL;
            char detail[128];
            /* key=value, as the Events page translates it: "started=2026-12-07T03:36:31.182Z" */
            if (iso && safecam_fmt(detail, sizeof detail, "started=%s.%03dZ", iso, (int)(first_ms % 1000)) == 0)
                audit_note(r, AUDIT_MOTION, detail);
            g_free(iso);
            if (dt)
                g_date_time_unref(dt);
        }
        log_info("recordings: motion; recording an event segment");
    } else if (!motion && r->in_event) {
        r->in_event = FALSE;
        log_info("recordings: no motion for the post-roll; the event segment ends");
    }
    /* the tap runs while the ring is wanted (pre-roll) or an event is recorded */
    if (on && (r->cfg.pre_roll_s > 0 || r->in_event))
        tap_start(r);
    if (!r->in_event || !on) {
        if (r->cur && r->cur->event)
            ev_segments_close(r);
        if (r->tap && !(on && r->cfg.pre_roll_s > 0))
            tap_stop(r);
        return;
    }
    if (!r->cur) {
        if (g_list_length(r->closing) < 4)
            ev_segment_start(r, TRUE);
        return;
    }
    gboolean due = r->cur->failed || now - r->cur->started_us >= (gint64)r->cfg.segment_seconds * G_USEC_PER_SEC;
    g_mutex_lock(&r->cur->lock);
    if (r->cur->w && record_writer_clear_bytes(r->cur->w) > REC_CUT_BYTES)
        due = TRUE;
    g_mutex_unlock(&r->cur->lock);
    if (r->cur->failed) {
        ev_segments_close(r);
        (void)retention_run(r, (int64_t)64 << 20);
    } else if (due && !cut_pending && g_list_length(r->closing) < 4) {
        ev_segment_start(r, FALSE); /* the tap switches to it at the next keyframe; r->cur follows then */
    }
}

static gboolean rec_tick(gpointer user)
{
    media_recorder *r = user;
    gint64 now = g_get_monotonic_time();
    /* segments flushing: finished at EOS (or after REC_EOS_WAIT_US) */
    GList *l = r->closing;
    int finished = 0;
    while (l) {
        GList *next = l->next;
        struct rec_segment *s = l->data;
        if (s->eos || now - s->closing_since_us > REC_EOS_WAIT_US) {
            r->closing = g_list_delete_link(r->closing, l);
            seg_finalize(s);
            finished++;
        }
        l = next;
    }
    if (finished)
        (void)retention_run(r, 0);
    ev_tick(r, now);
    gboolean on = r->cfg.mode == CONFIG_RECORDING_CONTINUOUS;
    if (r->cur && !r->cur->event) {
        gboolean due = !on || r->cur->failed ||
                       now - r->cur->started_us >= (gint64)r->cfg.segment_seconds * G_USEC_PER_SEC;
        g_mutex_lock(&r->cur->lock);
        if (r->cur->w && record_writer_clear_bytes(r->cur->w) > REC_CUT_BYTES)
            due = TRUE;
        g_mutex_unlock(&r->cur->lock);
        if (due) {
            gboolean was_failed = r->cur->failed;
            seg_close(r->cur);
            r->cur = NULL;
            if (was_failed) /* storage full or failing: make room, oldest first (never the newest minute) */
                (void)retention_run(r, (int64_t)64 << 20);
        }
    }
    if (on && !r->cur && g_list_length(r->closing) < 4)
        r->cur = seg_open(r, FALSE, now_ms());
    return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------------------------------ */
/* API                                                                                               */

int media_recorder_new(media_service *svc, const struct media_vault_ops *vault, const char *state_dir,
                       media_recorder **out)
{
    *out = NULL;
    if (!svc || !vault || !state_dir)
        return SAFECAM_ERR_INVAL;
    media_recorder *r = g_new0(media_recorder, 1);
    r->svc = svc;
    r->vault = *vault;
    struct config defaults;
    config_defaults(&defaults);
    r->cfg = defaults.recording;
    if (safecam_path_join(r->dir, sizeof r->dir, state_dir, STATEDIR_RECORDINGS) != 0) {
        g_free(r);
        return SAFECAM_ERR_TOOBIG;
    }
    struct stat sb;
    if ((mkdir(r->dir, 0700) != 0 && errno != EEXIST) || lstat(r->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        log_err("recordings: %s is not a directory", STATEDIR_RECORDINGS);
        g_free(r);
        return SAFECAM_ERR_IO;
    }
    if (db_open(r) != 0) {
        sqlite3_close(r->db);
        g_free(r);
        return SAFECAM_ERR_IO;
    }
    reconcile(r);
    g_mutex_init(&r->ev_lock);
    g_queue_init(&r->ring);
    r->written_pts = GST_CLOCK_TIME_NONE;
    r->sensitivity = r->cfg.motion_sensitivity;
    r->tick = g_timeout_add(REC_TICK_MS, rec_tick, r);
    *out = r;
    return 0;
}

void media_recorder_free(media_recorder *r)
{
    if (!r)
        return;
    if (r->tick)
        g_source_remove(r->tick);
    if (r->motion_analysing) /* returns once the analysis thread has left motion_frame */
        media_service_motion_set(r->svc, NULL, NULL);
    r->motion_analysing = FALSE;
    ev_segments_close(r);
    tap_stop(r);
    if (r->cur)
        seg_close(r->cur);
    r->cur = NULL;
    /* a clean stop: every muxer gets a bounded time to flush its last fragment */
    gint64 until = g_get_monotonic_time() + REC_EOS_WAIT_US;
    while (r->closing) {
        struct rec_segment *s = r->closing->data;
        while (!s->eos && g_get_monotonic_time() < until)
            g_main_context_iteration(NULL, FALSE) || (g_usleep(10000), 0);
        r->closing = g_list_delete_link(r->closing, r->closing);
        seg_finalize(s);
    }
    sqlite3_close(r->db);
    g_free(r->prev);
    g_mutex_clear(&r->ev_lock);
    g_free(r);
}

void media_recorder_apply(media_recorder *r, const struct config_recording *cfg, int restart)
{
    if (!r || !cfg)
        return;
    int was = r->cfg.mode;
    r->cfg = *cfg;
    if (r->cfg.mode != was)
        log_info("recordings: mode %s", config_recording_mode_name(r->cfg.mode));
    if (restart) { /* the stream changed: the pre-roll is of the old one */
        ev_segments_close(r);
        tap_stop(r);
    }
    if (restart && r->cur) {
        seg_close(r->cur);
        r->cur = NULL;
    }
    motion_sync(r);
    (void)retention_run(r, 0);
    rec_tick(r);
}

int media_recorder_active(const media_recorder *r)
{
    return r && r->cur ? 1 : 0;
}

int media_recorder_list(media_recorder *r, int64_t from_ms, int64_t to_ms, const char *event, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    if (event && strcmp(event, "motion") != 0)
        return SAFECAM_ERR_INVAL;
    /* start_ms bounds the indexed range (a segment lasts at most CONFIG_RECORDING_SEGMENT_MAX_S plus a cut);
     * with an event, the (event, start_ms) index */
    if (sqlite3_prepare_v2(r->db,
                           event ? "SELECT id, start_ms, end_ms, bytes, complete, event FROM segments WHERE event = "
                                   "'motion' AND start_ms >= ? AND start_ms < ? AND end_ms >= ? ORDER BY start_ms "
                                   "LIMIT ?"
                                 : "SELECT id, start_ms, end_ms, bytes, complete, event FROM segments WHERE start_ms "
                                   ">= ? AND start_ms < ? AND end_ms >= ? ORDER BY start_ms LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int64_t lo = from_ms > INT64_MIN / 2 ? from_ms - 2 * CONFIG_RECORDING_SEGMENT_MAX_S * 1000LL : from_ms;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, to_ms);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int(st, 4, REC_LIST_MAX + 1);
    json_t *arr = json_array();
    int n = 0, s;
    int64_t next = -1;
    while (arr && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        uint8_t b[RECORD_ID_BYTES];
        if (!id || record_id_parse(id, b) != 0)
            continue;
        if (++n > REC_LIST_MAX) {
            next = sqlite3_column_int64(st, 1);
            break;
        }
        const char *ev = (const char *)sqlite3_column_text(st, 5);
        json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I,s:b,s:o}", "id", id, "start_ms",
                                             (json_int_t)sqlite3_column_int64(st, 1), "end_ms",
                                             (json_int_t)sqlite3_column_int64(st, 2), "bytes",
                                             (json_int_t)sqlite3_column_int64(st, 3), "complete",
                                             sqlite3_column_int(st, 4), "event",
                                             ev && strcmp(ev, "motion") == 0 ? json_string("motion") : json_null()));
    }
    sqlite3_finalize(st);
    if (!arr)
        return SAFECAM_ERR_NOMEM;
    *out = json_pack("{s:b,s:o}", "ok", 1, "recordings", arr);
    if (*out && next >= 0)
        json_object_set_new(*out, "next_from", json_integer(next));
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}

int media_recorder_open_fd(media_recorder *r, const char *idhex, int *fd_out)
{
    *fd_out = -1;
    uint8_t b[RECORD_ID_BYTES];
    char path[PATH_MAX];
    if (record_id_parse(idhex, b) != 0)
        return SAFECAM_ERR_INVAL;
    int has = db_has(r, idhex);
    if (has < 0)
        return SAFECAM_ERR_IO;
    if (!has)
        return SAFECAM_ERR_NOTFOUND;
    if (seg_path(r, idhex, path, sizeof path) != 0)
        return SAFECAM_ERR_INVAL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    *fd_out = fd;
    return 0;
}

int media_recorder_delete(media_recorder *r, const json_t *ids, int64_t from_ms, int64_t to_ms, json_t **out)
{
    *out = NULL;
    GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
    if (ids) {
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) g_ptr_array_add(want, g_strdup(json_string_value(v)));
    } else {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(r->db, "SELECT id FROM segments WHERE start_ms >= ? AND start_ms < ? ORDER BY start_ms LIMIT ?",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, from_ms);
            sqlite3_bind_int64(st, 2, to_ms);
            sqlite3_bind_int(st, 3, REC_DELETE_MAX);
            while (sqlite3_step(st) == SQLITE_ROW)
                g_ptr_array_add(want, g_strdup((const char *)sqlite3_column_text(st, 0)));
        }
        sqlite3_finalize(st);
    }
    json_t *deleted = json_array(), *failed = json_array();
    for (guint i = 0; i < want->len; i++) {
        const char *id = g_ptr_array_index(want, i);
        uint8_t b[RECORD_ID_BYTES];
        const char *why = NULL;
        if (!id || record_id_parse(id, b) != 0)
            why = "invalid_id";
        else if (db_has(r, id) != 1)
            why = "not_found";
        else if (seg_remove(r, id) != 0)
            why = "storage";
        if (why)
            json_array_append_new(failed, json_pack("{s:s,s:s}", "id", id ? id : "", "error", why));
        else
            json_array_append_new(deleted, json_string(id));
    }
    g_ptr_array_free(want, TRUE);
    *out = json_pack("{s:b,s:o,s:o}", "ok", 1, "deleted", deleted, "failed", failed);
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}
