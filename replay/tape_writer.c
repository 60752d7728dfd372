/* Writing tapes: the encoder fills raw chunks, the writer seals and writes them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include "bytes.h"
#include "tape.h"
#include "tape_codec.h"
#include "tape_format.h"

#define SCRATCH_MAX (TAPE_RECORD_FIXED_MAX + 2 * TAPE_STRING_MAX)
#define DEFAULT_ZSTD_LEVEL 3

struct tape_encoder {
	struct tape_delta_state st;
	struct tape_raw_chunk cur;
	struct tape_raw_chunk spare;
	uint8_t scratch[SCRATCH_MAX];
};

struct tape_encoder *tape_encoder__new(void)
{
	return calloc(1, sizeof(struct tape_encoder));
}

void tape_raw_chunk__free(struct tape_raw_chunk *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}

void tape_encoder__free(struct tape_encoder *e)
{
	if (!e)
		return;
	tape_raw_chunk__free(&e->cur);
	tape_raw_chunk__free(&e->spare);
	free(e);
}

static int reserve(struct tape_raw_chunk *c, size_t extra)
{
	size_t cap;
	uint8_t *p;

	if (c->cap - c->len >= extra)
		return 0;
	cap = c->cap ? c->cap : 64 << 10;
	while (cap - c->len < extra)
		cap *= 2;
	p = realloc(c->data, cap);
	if (!p)
		return -ENOMEM;
	c->data = p;
	c->cap = cap;
	return 0;
}

int tape_encoder__add(struct tape_encoder *e, const struct tape_event *ev)
{
	struct tape_delta_state saved;
	struct tape_raw_chunk *c = &e->cur;
	size_t len;

	if (!c->data && e->spare.data) {
		*c = e->spare;
		memset(&e->spare, 0, sizeof(e->spare));
	}
	/* Only the scalars before frames: encoding never touches the decoder's frames. */
	memcpy(&saved, &e->st, offsetof(struct tape_delta_state, frames));
	len = tape_encode_payload(&e->st, ev, e->scratch);
	if (reserve(c, 1 + VARINT_MAX + len)) {
		memcpy(&e->st, &saved, offsetof(struct tape_delta_state, frames));
		return -ENOMEM;
	}
	c->data[c->len++] = (uint8_t)ev->type;
	c->len += varint_put(c->data + c->len, len);
	memcpy(c->data + c->len, e->scratch, len);
	c->len += len;
	if (c->nevents++ == 0)
		c->first_ts = c->last_ts = ev->ts;
	if (ev->ts < c->first_ts)
		c->first_ts = ev->ts;
	if (ev->ts > c->last_ts)
		c->last_ts = ev->ts;
	return 0;
}

size_t tape_encoder__size(const struct tape_encoder *e)
{
	return e->cur.len;
}

uint32_t tape_encoder__count(const struct tape_encoder *e)
{
	return e->cur.nevents;
}

int tape_encoder__take(struct tape_encoder *e, struct tape_raw_chunk *out)
{
	if (!e->cur.nevents)
		return 0;
	*out = e->cur;
	memset(&e->cur, 0, sizeof(e->cur));
	memset(&e->st, 0, sizeof(e->st));
	return 1;
}

void tape_encoder__recycle(struct tape_encoder *e, struct tape_raw_chunk *c)
{
	if (!e->spare.data && c->data) {
		e->spare = *c;
		e->spare.len = e->spare.nevents = 0;
		memset(c, 0, sizeof(*c));
	} else {
		tape_raw_chunk__free(c);
	}
}

/* ------------------------------------------------------------------ writer */

struct tape_writer {
	int fd;
	struct tape_writer_opts opts;
	ZSTD_CCtx *zc;
	uint8_t *zbuf;
	size_t zcap;
	struct tape_encoder *enc;
	uint64_t bytes;
	uint64_t events;
	int err;
};

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t r = writev(fd, iov, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

int tape_writer__open(struct tape_writer **out, int fd, const struct tape_header *h,
		      const struct tape_writer_opts *opts)
{
	struct tape_writer *w = calloc(1, sizeof(*w));
	struct iovec iov;
	uint8_t *buf;
	size_t len;
	int err;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	if (opts)
		w->opts = *opts;
	else
		w->opts.codec = TAPE_CODEC_ZSTD;
	if (!w->opts.chunk_bytes)
		w->opts.chunk_bytes = TAPE_CHUNK_DEFAULT_BYTES;
	if (w->opts.chunk_bytes > TAPE_CHUNK_RAW_MAX / 2)
		w->opts.chunk_bytes = TAPE_CHUNK_RAW_MAX / 2;
	if (!w->opts.zstd_level)
		w->opts.zstd_level = DEFAULT_ZSTD_LEVEL;
	if (w->opts.codec == TAPE_CODEC_ZSTD) {
		w->zc = ZSTD_createCCtx();
		if (!w->zc) {
			free(w);
			return -ENOMEM;
		}
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, w->opts.zstd_level);
	}
	err = tape_header__encode(h, &buf, &len);
	if (!err) {
		iov = (struct iovec){ buf, len };
		err = write_all(fd, &iov, 1);
		free(buf);
		w->bytes = len;
	}
	if (!err && w->opts.fsync && fsync(fd) && errno != EINVAL && errno != EROFS)
		err = -errno;
	if (err) {
		ZSTD_freeCCtx(w->zc);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

int tape_writer__write_chunk(struct tape_writer *w, const struct tape_raw_chunk *c)
{
	uint8_t hdr[TAPE_CHUNK_HDR] = { 0 };
	const uint8_t *payload = c->data;
	size_t stored = c->len;
	int codec = TAPE_CODEC_NONE;
	struct iovec iov[2];
	int err;

	if (w->err)
		return w->err;
	if (!c->nevents)
		return 0;
	if (c->len > TAPE_CHUNK_RAW_MAX)
		return -E2BIG;
	if (w->zc) {
		size_t bound = ZSTD_compressBound(c->len), n;

		if (w->zcap < bound) {
			uint8_t *p = realloc(w->zbuf, bound);

			if (!p)
				return w->err = -ENOMEM;
			w->zbuf = p;
			w->zcap = bound;
		}
		n = ZSTD_compress2(w->zc, w->zbuf, w->zcap, c->data, c->len);
		/* Incompressible chunks are stored as they are. */
		if (!ZSTD_isError(n) && n < c->len) {
			payload = w->zbuf;
			stored = n;
			codec = TAPE_CODEC_ZSTD;
		}
	}
	memcpy(hdr, TAPE_CHUNK_MAGIC, 4);
	hdr[TAPE_CHUNK_OFF_CODEC] = codec;
	put_le16(hdr + TAPE_CHUNK_OFF_HDR_SIZE, TAPE_CHUNK_HDR);
	put_le32(hdr + TAPE_CHUNK_OFF_STORED, stored);
	put_le32(hdr + TAPE_CHUNK_OFF_RAW, c->len);
	put_le32(hdr + TAPE_CHUNK_OFF_COUNT, c->nevents);
	put_le64(hdr + TAPE_CHUNK_OFF_FIRST_TS, c->first_ts);
	put_le64(hdr + TAPE_CHUNK_OFF_LAST_TS, c->last_ts);
	put_le64(hdr + TAPE_CHUNK_OFF_CHECKSUM, tape_checksum(payload, stored));
	put_le32(hdr + TAPE_CHUNK_OFF_HDR_CHECKSUM,
		 (uint32_t)tape_checksum(hdr, TAPE_CHUNK_OFF_HDR_CHECKSUM));
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)payload, stored };
	err = write_all(w->fd, iov, 2);
	/* fsync fails with EINVAL on pipes and terminals: nothing to sync there. */
	if (!err && w->opts.fsync && fsync(w->fd) && errno != EINVAL && errno != EROFS)
		err = -errno;
	if (err)
		return w->err = err;
	w->bytes += sizeof(hdr) + stored;
	w->events += c->nevents;
	return 0;
}

int tape_writer__flush(struct tape_writer *w)
{
	struct tape_raw_chunk c;
	int err;

	if (!w->enc || !tape_encoder__take(w->enc, &c))
		return w->err;
	err = tape_writer__write_chunk(w, &c);
	tape_encoder__recycle(w->enc, &c);
	return err;
}

int tape_writer__add(struct tape_writer *w, const struct tape_event *ev)
{
	int err;

	if (w->err)
		return w->err;
	if (!w->enc) {
		w->enc = tape_encoder__new();
		if (!w->enc)
			return w->err = -ENOMEM;
	}
	err = tape_encoder__add(w->enc, ev);
	if (err)
		return w->err = err;
	if (tape_encoder__size(w->enc) >= w->opts.chunk_bytes)
		return tape_writer__flush(w);
	return 0;
}

int tape_writer__close(struct tape_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = tape_writer__flush(w);
	if (!err)
		err = w->err;
	tape_encoder__free(w->enc);
	ZSTD_freeCCtx(w->zc);
	free(w->zbuf);
	free(w);
	return err;
}

uint64_t tape_writer__bytes(const struct tape_writer *w)
{
	return w->bytes;
}

uint64_t tape_writer__events(const struct tape_writer *w)
{
	return w->events + (w->enc ? tape_encoder__count(w->enc) : 0);
}
