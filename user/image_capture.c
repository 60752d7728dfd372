/* A new image's files, read as data at exec: see image_capture.h. */
#include <elf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_capture.h"
#include "ld_search.h"
#include "safe_open.h"

#define MAX_ENV_BYTES (1u << 20)
#define MAX_ELF_BYTES (4ull << 30)

/* The process's AT_SECURE: a setuid image, whose loader ignores LD_* variables. */
static bool secure_exec(pid_t pid)
{
	char path[64], *auxv = NULL;
	size_t len;
	int cut;
	bool secure = false;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	if (read_small_file(path, 4096, &auxv, &len, &cut))
		return true;	/* cannot tell: assume the loader ignores them */
	for (size_t i = 0; i + 2 * sizeof(uint64_t) <= len; i += 2 * sizeof(uint64_t)) {
		uint64_t type, value;

		memcpy(&type, auxv + i, sizeof(type));
		memcpy(&value, auxv + i + sizeof(type), sizeof(value));
		if (type == AT_SECURE)
			secure = value != 0;
	}
	free(auxv);
	return secure;
}

void image_capture__free(struct image_capture *c)
{
	if (!c)
		return;
	if (c->exe_fd >= 0)
		close(c->exe_fd);
	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c->exe);
	free(c->env);
	free(c);
}

struct image_capture *image_capture__read(pid_t pid)
{
	struct image_capture *c = calloc(1, sizeof(*c));
	char path[64], exe[PATH_MAX];
	ssize_t n;
	int cut;

	if (!c)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	c->exe_fd = safe_open(-1, path, MAX_ELF_BYTES);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	c->exe = strdup(exe[0] ? exe : path);
	c->root_fd = proc_root_open(pid);
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if (read_small_file(path, MAX_ENV_BYTES, &c->env, &c->env_len, &cut)) {
		c->env = NULL;
		c->env_len = 0;
	}
	c->secure = secure_exec(pid);
	if (c->exe_fd < 0 || c->root_fd < 0 || !c->exe) {
		image_capture__free(c);
		return NULL;
	}
	return c;
}

int image_capture__libs(const struct image_capture *c, bool exe_only, struct lib_set *libs,
			char *msg, size_t msglen)
{
	struct ld_env env = { 0 };

	memset(libs, 0, sizeof(*libs));
	if (exe_only)
		return libs_of_file(c->exe_fd, c->exe, libs, msg, msglen);
	if (c->env)
		ld_env_from_block(c->env, c->env_len, &env);
	env.secure = c->secure;
	return libs_of_image(c->root_fd, c->exe_fd, c->exe, &env, libs, msg, msglen);
}
