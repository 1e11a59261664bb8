/* record.h — the sealed recording segment file (lib/record/segfile.c). QCVN 135 G7 (data at rest),
 * G9 (crypto-erase) / EN 303 645 5.8-2, 5.11-1.
 *
 * A segment is the fragmented MP4 of one stretch of the main stream, sealed with its own random key
 * (XChaCha20-Poly1305 secretstream, libsodium) as it is produced: no clear byte is ever written.
 * File layout (all integers big-endian):
 *   header (RECORD_HEADER_BYTES):
 *     "SCR1" | segment id (16 bytes) | start (int64, ms since the epoch) |
 *     wrapped key (RECORD_WRAPPED_BYTES: the segment key sealed under the storage key by the vault, seal.h,
 *                  label "recording:<id hex>:<start>") | secretstream header (24)
 *   then messages: length (uint32, ciphertext bytes, 17..RECORD_CHUNK_MAX + 17) | ciphertext
 * The first message carries the whole file header as additional data, so a file whose header was edited
 * (id, start, wrapped key) or a file copied or renamed over another (its id differs from the one asked for)
 * is refused. A message ends with TAG_PUSH when it ends an MP4 unit (the init segment or a whole fragment),
 * TAG_MESSAGE inside a unit, and the file ends with an empty TAG_FINAL message. A cut-off file (power loss,
 * kill -9) is read up to its last TAG_PUSH: every complete fragment is recovered.
 * The reader is a parser of attacker-writable storage: bounded, fuzzed (fuzz/fuzz_record_segment.c). */
#ifndef SAFECAM_RECORD_H
#define SAFECAM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

#define RECORD_MAGIC "SCR1"
#define RECORD_ID_BYTES 16u
#define RECORD_ID_HEX 32u
#define RECORD_KEY_BYTES 32u
#define RECORD_WRAPPED_BYTES (32u + 4u + 24u + 16u) /* seal.h: SEAL_OVERHEAD_BYTES + key */
#define RECORD_SS_HEADER_BYTES 24u
#define RECORD_HEADER_BYTES (4u + RECORD_ID_BYTES + 8u + RECORD_WRAPPED_BYTES + RECORD_SS_HEADER_BYTES)
#define RECORD_CHUNK_MAX (64u * 1024u)   /* plaintext bytes per message */
#define RECORD_MSG_OVERHEAD 17u          /* secretstream ABYTES */
#define RECORD_SEGMENT_MAX_BYTES (64ull * 1024u * 1024u) /* a segment's clear MP4, at most (the writer cuts a segment there) */
#define RECORD_LABEL_MAX 64u

struct record_header {
    uint8_t id[RECORD_ID_BYTES];
    int64_t start_ms;
    uint8_t wrapped[RECORD_WRAPPED_BYTES];
    uint8_t ss_header[RECORD_SS_HEADER_BYTES];
};

/* The seal label of a segment key: "recording:<id hex>:<start_ms>" into out (>= RECORD_LABEL_MAX). */
int record_key_label(const uint8_t id[RECORD_ID_BYTES], int64_t start_ms, char *out, size_t out_size) SAFECAM_WUR;
/* Lower-case hex id <-> bytes. record_id_parse: SAFECAM_ERR_INVAL unless exactly 32 hex digits [0-9a-f]. */
int record_id_parse(const char *hex, uint8_t id[RECORD_ID_BYTES]) SAFECAM_WUR;
void record_id_format(const uint8_t id[RECORD_ID_BYTES], char hex[RECORD_ID_HEX + 1]);

/* Parse the fixed header (buf holds at least RECORD_HEADER_BYTES). SAFECAM_ERR_INVAL on a wrong magic. */
int record_header_parse(const uint8_t *buf, size_t len, struct record_header *h) SAFECAM_WUR;

typedef struct record_writer record_writer;
/* Start a segment on fd (a new, empty file opened for writing; not owned): writes the header. key is
 * copied into sodium_malloc'd memory and wiped by record_writer_free. Errors: INVAL, NOMEM, IO, CRYPTO. */
int record_writer_open(int fd, const uint8_t id[RECORD_ID_BYTES], int64_t start_ms,
                       const uint8_t key[RECORD_KEY_BYTES], const uint8_t wrapped[RECORD_WRAPPED_BYTES],
                       record_writer **out) SAFECAM_WUR;
/* Seal len clear bytes (any length; cut into RECORD_CHUNK_MAX messages). unit_end != 0: these bytes end an
 * MP4 unit (TAG_PUSH on the last message). Bytes written to the file so far: *file_bytes (may be NULL). */
int record_writer_push(record_writer *w, const uint8_t *data, size_t len, int unit_end) SAFECAM_WUR;
/* The final message; the caller fsyncs and closes. */
int record_writer_finish(record_writer *w) SAFECAM_WUR;
uint64_t record_writer_clear_bytes(const record_writer *w);
uint64_t record_writer_file_bytes(const record_writer *w);
void record_writer_free(record_writer *w); /* wipes the key; NULL is fine */

/* Decrypt a sealed segment read from in_fd (from offset 0, pread) into out_fd (written from its current
 * position; a memfd or a file) with the segment key. The header must name want_id (NULL: any) and its
 * first message must authenticate the header. Stops at the last complete unit when the file is cut off
 * or damaged after it (out_fd is truncated back to it: ftruncate + lseek). *complete = 1 when the file
 * ended with its final message. *clear_bytes = bytes left in out_fd. Memory: one message.
 * Errors: SAFECAM_ERR_CRYPTO (no unit recovered, wrong key, wrong id, edited header), INVAL, IO, TOOBIG
 * (beyond max_clear bytes). */
int record_segment_decrypt(int in_fd, const uint8_t key[RECORD_KEY_BYTES], const uint8_t *want_id,
                           int out_fd, uint64_t max_clear, int *complete, uint64_t *clear_bytes) SAFECAM_WUR;

#endif
