/* mp4frag.h — joining the fragmented MP4 segments of a time range into one playable MP4 (the recording
 * export, GET /api/v1/recordings/export). Each decrypted segment is "ftyp moov (moof mdat)*" with its own
 * init; the joiner writes the first segment's init once, then the moof/mdat pairs of every segment with the
 * movie-fragment sequence numbers renumbered from 1 and each track's base media decode time (tfdt) rebased so
 * the timeline starts at 0 and runs on without a gap or an overlap. Segments whose sample descriptions
 * (stsd), track ids or timescales differ from the first are refused (MP4FRAG_ERR_INIT_DIFFERS).
 *
 * Trust level: the input is our own decrypted data, but every box size is checked against its container and
 * the file (no read outside), every box is bounded (init and moof at most MP4FRAG_BOX_MAX bytes in memory; an
 * mdat is copied through in pieces), every loop is bounded by the input length. Fuzzed by
 * fuzz/fuzz_mp4_join.c. QCVN 135 G9 (the user gets their data) / EN 303 645 5.11. */
#ifndef SAFECAM_MP4FRAG_H
#define SAFECAM_MP4FRAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MP4FRAG_TRACKS_MAX 8
#define MP4FRAG_BOX_MAX ((size_t)1 << 20) /* init (ftyp+moov) and each moof, bytes */
#define MP4FRAG_ERR_INIT_DIFFERS (-100)   /* a segment's init does not match the first segment's */

/* One box header parsed from buf (len bytes available, at least 8; 16 for a 64-bit size), in a container
 * that has avail bytes left from the box's start. size 0 ("to the end") means avail. */
struct mp4frag_box {
    char type[5];  /* four characters and a NUL */
    uint64_t hdr;  /* 8 or 16 */
    uint64_t size; /* whole box, header included, hdr <= size <= avail */
};

/* Parse a box header. 0, or SAFECAM_ERR_INVAL when the header is short, the size is below the header or
 * beyond avail. */
int mp4frag_box_parse(const uint8_t *buf, size_t len, uint64_t avail, struct mp4frag_box *out);

typedef struct mp4frag_joiner mp4frag_joiner;

/* A new joiner (owned by the caller, free with mp4frag_joiner_free). dry: a checking pass that parses and
 * rewrites every init and moof but skips mdat payloads (mp4frag_joiner_read then returns only the rewritten
 * boxes); it gives the total duration for mp4frag_joiner_total_set. 0, SAFECAM_ERR_NOMEM. */
int mp4frag_joiner_new(int dry, mp4frag_joiner **out);
void mp4frag_joiner_free(mp4frag_joiner *j);

/* Start the next segment: fd is a readable, seekable descriptor of the clear MP4 (borrowed until the next
 * segment or free; read with pread only). Parses the init (ftyp+moov, before the first moof). 0;
 * MP4FRAG_ERR_INIT_DIFFERS; SAFECAM_ERR_INVAL (malformed, no moov, a box over its bound); SAFECAM_ERR_IO. */
int mp4frag_joiner_segment(mp4frag_joiner *j, int fd);

/* Copy the next bytes of the joined MP4 (at most max, max >= 1) into buf. > 0: bytes; 0: the current segment
 * is done (call mp4frag_joiner_segment for the next, or stop); < 0: SAFECAM_ERR_INVAL (malformed box, a moof
 * not followed by its mdat, a decode time that would not fit), SAFECAM_ERR_IO. Boxes after the fragments (mfra,
 * free, ...) are dropped. */
ssize_t mp4frag_joiner_read(mp4frag_joiner *j, uint8_t *buf, size_t max);

/* The joined duration so far, in the movie timescale (mvhd), of the longest track. */
uint64_t mp4frag_joiner_duration(const mp4frag_joiner *j);

/* The duration to write into the init's mehd (movie timescale; 0 leaves it 0 = unknown). Call before the
 * first read. */
void mp4frag_joiner_total_set(mp4frag_joiner *j, uint64_t movie_units);

/* Number of fragments (moof) written so far. */
uint32_t mp4frag_joiner_fragments(const mp4frag_joiner *j);

#endif
