/* ELF symbols, build IDs and address mapping through libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"

struct segment {
	uint64_t vaddr, offset, filesz;
	bool exec;
};

struct elf_file {
	int fd;
	Elf *elf;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	struct segment *segs;
	size_t nsegs;
};

static void read_build_id(struct elf_file *f)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
			    nh.n_descsz <= BUILD_ID_MAX) {
				memcpy(f->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
				f->build_id_len = nh.n_descsz;
				return;
			}
		}
	}
}

static int read_segments(struct elf_file *f)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return -EINVAL;
	f->segs = calloc(n ? n : 1, sizeof(*f->segs));
	if (!f->segs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->segs[f->nsegs++] = (struct segment){ ph.p_vaddr, ph.p_offset, ph.p_filesz,
							(ph.p_flags & PF_X) != 0 };
	}
	return 0;
}

/* Takes fd over. */
static int open_from(struct elf_file **out, int fd, const char *path, char *msg, size_t msglen)
{
	struct elf_file *f;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(msg, msglen, "libelf is unusable: %s", elf_errmsg(-1));
		close(fd);
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	/*
	 * Read, not mapped: a file a traced process controls may be truncated
	 * under us, which would be SIGBUS in a mapping and is EOF in a read.
	 */
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		snprintf(msg, msglen, "%s is not an ELF file", path);
		elf_file__close(f);
		return -ENOEXEC;
	}
	err = read_segments(f);
	if (err) {
		snprintf(msg, msglen, "%s: cannot read its program headers", path);
		elf_file__close(f);
		return err;
	}
	read_build_id(f);
	*out = f;
	return 0;
}

int elf_file__open(struct elf_file **out, const char *path, char *msg, size_t msglen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	return open_from(out, fd, path, msg, msglen);
}

int elf_file__open_fd(struct elf_file **out, int fd, const char *path, char *msg, size_t msglen)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup < 0) {
		int err = -errno;

		snprintf(msg, msglen, "cannot read %s: %s", path, strerror(errno));
		return err;
	}
	return open_from(out, dup, path, msg, msglen);
}

bool elf_file__native(const struct elf_file *f)
{
	GElf_Ehdr eh;

	if (!gelf_getehdr(f->elf, &eh))
		return false;
#if defined(__x86_64__)
	return eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64;
#elif defined(__aarch64__)
	return eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_AARCH64;
#else
	return true;
#endif
}

int elf_file__each_dynamic(struct elf_file *f, int (*fn)(char tag, const char *s, void *ctx),
			   void *ctx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; data && i < n; i++) {
			GElf_Dyn dyn;
			const char *str;
			char tag;
			int r;

			if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			tag = dyn.d_tag == DT_NEEDED ? 'N' : dyn.d_tag == DT_RPATH ? 'R' :
			      dyn.d_tag == DT_RUNPATH ? 'U' : 0;
			if (!tag)
				continue;
			str = elf_strptr(f->elf, sh.sh_link, dyn.d_un.d_val);
			if (str && (r = fn(tag, str, ctx)))
				return r;
		}
		return 0;
	}
	return 0;
}

void elf_file__close(struct elf_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->segs);
	free(f);
}

void elf_file__build_id(const struct elf_file *f, uint8_t *id, size_t *len)
{
	memcpy(id, f->build_id, f->build_id_len);
	*len = f->build_id_len;
}

/* Version info of .dynsym entry i: is it the default version (or unversioned)? */
static bool default_version(Elf_Data *versym, size_t i)
{
	GElf_Versym v;

	if (!versym || !gelf_getversym(versym, i, &v))
		return true;
	return !(v & 0x8000);	/* VERSYM_HIDDEN marks a non-default version */
}

static int each_in_table(struct elf_file *f, Elf_Scn *scn, GElf_Shdr *sh, Elf_Data *versym,
			 int (*fn)(const struct elf_func *, void *), void *ctx)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; data && i < n; i++) {
		struct elf_func fn_ = { 0 };
		GElf_Sym sym;
		const char *name;
		int type, r;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(f->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		fn_.name = name;
		fn_.vaddr = sym.st_value;
		fn_.size = sym.st_size;
		fn_.ifunc = type == STT_GNU_IFUNC;
		fn_.dynamic = sh->sh_type == SHT_DYNSYM;
		fn_.default_version = sh->sh_type != SHT_DYNSYM || default_version(versym, i);
		r = fn(&fn_, ctx);
		if (r)
			return r;
	}
	return 0;
}

int elf_file__each_func(struct elf_file *f, int (*fn)(const struct elf_func *fn_, void *ctx),
			void *ctx)
{
	Elf_Scn *scn = NULL, *versym_scn = NULL;
	Elf_Data *versym = NULL;
	int r;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			versym_scn = scn;
	}
	if (versym_scn)
		versym = elf_getdata(versym_scn, NULL);
	scn = NULL;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		r = each_in_table(f, scn, &sh, sh.sh_type == SHT_DYNSYM ? versym : NULL, fn, ctx);
		if (r)
			return r;
	}
	return 0;
}

int64_t elf_file__vaddr_to_offset(const struct elf_file *f, uint64_t vaddr)
{
	for (size_t i = 0; i < f->nsegs; i++) {
		const struct segment *s = &f->segs[i];

		if (vaddr >= s->vaddr && vaddr < s->vaddr + s->filesz)
			return (int64_t)(vaddr - s->vaddr + s->offset);
	}
	return -1;
}

int64_t elf_file__offset_to_vaddr(const struct elf_file *f, uint64_t offset)
{
	for (size_t i = 0; i < f->nsegs; i++) {
		const struct segment *s = &f->segs[i];

		if (s->exec && offset >= s->offset && offset < s->offset + s->filesz)
			return (int64_t)(offset - s->offset + s->vaddr);
	}
	return -1;
}

bool elf_file__interp(const struct elf_file *f, char *buf, size_t len)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		size_t size;
		char *image;

		if (!gelf_getphdr(f->elf, i, &ph) || ph.p_type != PT_INTERP)
			continue;
		image = elf_rawfile(f->elf, &size);
		if (!image || ph.p_offset >= size || ph.p_filesz == 0 || ph.p_filesz > size - ph.p_offset)
			return false;
		snprintf(buf, len, "%.*s", (int)strnlen(image + ph.p_offset, ph.p_filesz),
			 image + ph.p_offset);
		return true;
	}
	return false;
}

void build_id_hex(const uint8_t *id, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < len && o + 3 <= outlen; i++)
		o += snprintf(out + o, outlen - o, "%02x", id[i]);
}
