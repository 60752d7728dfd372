/* The tape's file header: fixed fields, then configuration entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "tape.h"
#include "tape_format.h"

static const char *const key_names[] = {
	[TAPE_CFG_TOOL] = "tool",
	[TAPE_CFG_COMMAND_LINE] = "command_line",
	[TAPE_CFG_TARGET_PID] = "target_pid",
	[TAPE_CFG_TARGET_COMMAND] = "target_command",
	[TAPE_CFG_LIBRARY] = "library",
	[TAPE_CFG_KERNEL] = "kernel",
	[TAPE_CFG_HOSTNAME] = "hostname",
	[TAPE_CFG_BOOT_ID] = "boot_id",
	[TAPE_CFG_CLOCK] = "clock",
	[TAPE_CFG_ZERO_MONO_NS] = "zero_mono_ns",
	[TAPE_CFG_ZERO_WALL_NS] = "zero_wall_ns",
	[TAPE_CFG_MODE] = "mode",
	[TAPE_CFG_OPTION] = "option",
	[TAPE_CFG_SOURCE] = "source",
	[TAPE_CFG_ARCH] = "arch",
};

const char *tape_config_key_name(uint16_t key)
{
	if (key < sizeof(key_names) / sizeof(key_names[0]) && key_names[key])
		return key_names[key];
	return NULL;
}

static uint8_t host_byte_order(void)
{
	const uint16_t probe = 1;

	return *(const uint8_t *)&probe ? TAPE_LITTLE_ENDIAN : TAPE_BIG_ENDIAN;
}

void tape_header__init_host(struct tape_header *h)
{
	long page = sysconf(_SC_PAGESIZE);

	memset(h, 0, sizeof(*h));
	h->version_major = TAPE_VERSION_MAJOR;
	h->version_minor = TAPE_VERSION_MINOR;
	h->byte_order = host_byte_order();
	h->pointer_size = sizeof(void *);
	h->page_size = page > 0 ? page : 4096;
}

void tape_header__free(struct tape_header *h)
{
	for (uint32_t i = 0; i < h->nentries; i++)
		free(h->entries[i].data);
	free(h->entries);
	h->entries = NULL;
	h->nentries = h->cap = 0;
}

int tape_header__add(struct tape_header *h, uint16_t key, const void *data, size_t len)
{
	struct tape_config_entry *e;

	if (len > TAPE_HDR_MAX)
		return -E2BIG;
	if (h->nentries == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 16;
		void *p = realloc(h->entries, cap * sizeof(*h->entries));

		if (!p)
			return -ENOMEM;
		h->entries = p;
		h->cap = cap;
	}
	e = &h->entries[h->nentries];
	e->data = malloc(len + 1);	/* +1: string values read as C strings */
	if (!e->data)
		return -ENOMEM;
	if (len)
		memcpy(e->data, data, len);
	e->data[len] = 0;
	e->key = key;
	e->len = len;
	h->nentries++;
	return 0;
}

int tape_header__add_str(struct tape_header *h, uint16_t key, const char *s)
{
	return tape_header__add(h, key, s, strlen(s));
}

int tape_header__add_u64(struct tape_header *h, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	return tape_header__add(h, key, b, sizeof(b));
}

int tape_header__add_u32(struct tape_header *h, uint16_t key, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	return tape_header__add(h, key, b, sizeof(b));
}

int tape_header__add_argv(struct tape_header *h, uint16_t key, int argc, char *const argv[])
{
	size_t len = 0, off = 0;
	char *buf;
	int err;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(buf + off, argv[i], n);
		off += n;
	}
	err = tape_header__add(h, key, buf, len);
	free(buf);
	return err;
}

const struct tape_config_entry *tape_header__find(const struct tape_header *h, uint16_t key,
						  unsigned idx)
{
	for (uint32_t i = 0; i < h->nentries; i++)
		if (h->entries[i].key == key && idx-- == 0)
			return &h->entries[i];
	return NULL;
}

uint64_t tape_header__u64(const struct tape_header *h, uint16_t key, uint64_t dflt)
{
	const struct tape_config_entry *e = tape_header__find(h, key, 0);

	if (!e)
		return dflt;
	if (e->len == 8)
		return get_le64(e->data);
	if (e->len == 4)
		return get_le32(e->data);
	return dflt;
}

static const char *order_name(uint8_t order)
{
	return order == TAPE_LITTLE_ENDIAN ? "little-endian" :
	       order == TAPE_BIG_ENDIAN ? "big-endian" : "unknown-endian";
}

bool tape_header__matches_host(const struct tape_header *h, char *msg, size_t msglen)
{
	struct tape_header host;

	tape_header__init_host(&host);
	if (h->byte_order == host.byte_order && h->pointer_size == host.pointer_size)
		return true;
	snprintf(msg, msglen,
		 "the tape was recorded on a %s machine with %u-byte pointers, but this machine is %s with %u-byte pointers",
		 order_name(h->byte_order), h->pointer_size, order_name(host.byte_order),
		 host.pointer_size);
	return false;
}

int tape_header__encode(const struct tape_header *h, uint8_t **out, size_t *outlen)
{
	size_t len = TAPE_HDR_FIXED, off;
	uint8_t *buf;

	for (uint32_t i = 0; i < h->nentries; i++)
		len += TAPE_CFG_ENTRY_FIXED + h->entries[i].len;
	len = (len + 7) & ~(size_t)7;
	if (len > TAPE_HDR_MAX)
		return -E2BIG;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, TAPE_MAGIC, TAPE_MAGIC_LEN);
	put_le16(buf + TAPE_HDR_OFF_VERSION_MAJOR, h->version_major);
	put_le16(buf + TAPE_HDR_OFF_VERSION_MINOR, h->version_minor);
	put_le32(buf + TAPE_HDR_OFF_SIZE, len);
	buf[TAPE_HDR_OFF_BYTE_ORDER] = h->byte_order;
	buf[TAPE_HDR_OFF_POINTER_SIZE] = h->pointer_size;
	put_le32(buf + TAPE_HDR_OFF_PAGE_SIZE, h->page_size);
	put_le32(buf + TAPE_HDR_OFF_NENTRIES, h->nentries);
	off = TAPE_HDR_FIXED;
	for (uint32_t i = 0; i < h->nentries; i++) {
		const struct tape_config_entry *e = &h->entries[i];

		put_le16(buf + off, e->key);
		put_le32(buf + off + 4, e->len);
		memcpy(buf + off + TAPE_CFG_ENTRY_FIXED, e->data, e->len);
		off += TAPE_CFG_ENTRY_FIXED + e->len;
	}
	put_le32(buf + TAPE_HDR_OFF_CHECKSUM, (uint32_t)tape_checksum(buf, len));
	*out = buf;
	*outlen = len;
	return 0;
}

int tape_header__parse_fixed(const uint8_t *buf, uint32_t *size, char *msg, size_t msglen)
{
	uint16_t major = get_le16(buf + TAPE_HDR_OFF_VERSION_MAJOR);
	uint16_t minor = get_le16(buf + TAPE_HDR_OFF_VERSION_MINOR);

	if (memcmp(buf, TAPE_MAGIC, TAPE_MAGIC_LEN)) {
		snprintf(msg, msglen, "not a bpftape tape (no BPFTAPE magic)");
		return -EINVAL;
	}
	if (major != TAPE_VERSION_MAJOR) {
		snprintf(msg, msglen,
			 "tape format version %u.%u is not supported: this bpftape reads version %u.x%s",
			 major, minor, TAPE_VERSION_MAJOR,
			 major > TAPE_VERSION_MAJOR ? "; use a newer bpftape" : "");
		return -EPROTONOSUPPORT;
	}
	*size = get_le32(buf + TAPE_HDR_OFF_SIZE);
	if (*size < TAPE_HDR_FIXED || *size > TAPE_HDR_MAX) {
		snprintf(msg, msglen, "corrupt tape header: it claims a size of %u bytes", *size);
		return -EBADMSG;
	}
	return 0;
}

int tape_header__decode(const uint8_t *buf, size_t len, struct tape_header *h, char *msg,
			size_t msglen)
{
	uint8_t *copy;
	uint32_t nentries;
	size_t off = TAPE_HDR_FIXED;
	int err = 0;

	memset(h, 0, sizeof(*h));
	h->version_major = get_le16(buf + TAPE_HDR_OFF_VERSION_MAJOR);
	h->version_minor = get_le16(buf + TAPE_HDR_OFF_VERSION_MINOR);
	h->byte_order = buf[TAPE_HDR_OFF_BYTE_ORDER];
	h->pointer_size = buf[TAPE_HDR_OFF_POINTER_SIZE];
	h->page_size = get_le32(buf + TAPE_HDR_OFF_PAGE_SIZE);
	nentries = get_le32(buf + TAPE_HDR_OFF_NENTRIES);

	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	put_le32(copy + TAPE_HDR_OFF_CHECKSUM, 0);
	h->checksum_bad = (uint32_t)tape_checksum(copy, len) != get_le32(buf + TAPE_HDR_OFF_CHECKSUM);
	free(copy);

	for (uint32_t i = 0; i < nentries; i++) {
		uint32_t elen;

		if (len - off < TAPE_CFG_ENTRY_FIXED) {
			err = -EBADMSG;
			break;
		}
		elen = get_le32(buf + off + 4);
		if (elen > len - off - TAPE_CFG_ENTRY_FIXED) {
			err = -EBADMSG;
			break;
		}
		err = tape_header__add(h, get_le16(buf + off), buf + off + TAPE_CFG_ENTRY_FIXED,
				       elen);
		if (err)
			break;
		off += TAPE_CFG_ENTRY_FIXED + elen;
	}
	if (err == -EBADMSG) {
		snprintf(msg, msglen, "corrupt tape header: configuration entry %u runs past its end",
			 h->nentries);
		h->checksum_bad = true;
		/* Keep what parsed: the chunks carry their own checks. */
		err = 0;
	}
	return err;
}
