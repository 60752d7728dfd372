/* Text and JSON renderings of tape headers and events. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bytes.h"
#include "comm_table.h"
#include "event_print.h"
#include "symbolize.h"
#include "syscalls.h"

const char *errno_name(int err)
{
	return err > 0 ? strerrorname_np(err) : NULL;
}

void print_json_string(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

const char *describe_caller(const struct print_ctx *ctx, uint32_t pid, uint64_t addr, char *buf,
			    size_t len)
{
	if (!addr)
		return "?";
	if (ctx->sym && symbolizer__describe(ctx->sym, pid, addr, buf, len))
		return buf;
	snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* ------------------------------------------------------------------ header */

static void print_argv_text(FILE *out, const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len;) {
		const char *arg = (const char *)data + i;
		size_t n = strnlen(arg, len - i);

		fprintf(out, "%s%s%.*s%s", i ? " " : "", strpbrk(arg, " \t") ? "'" : "", (int)n, arg,
			strpbrk(arg, " \t") ? "'" : "");
		i += n + 1;
	}
}

static void print_build_id(FILE *out, const uint8_t *id, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		fprintf(out, "%02x", id[i]);
}

static void print_wall(FILE *out, uint64_t ns)
{
	time_t secs = ns / 1000000000;
	struct tm tm;
	char buf[64];

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%09" PRIu64 "Z", buf, ns % 1000000000);
}

static bool key_is_argv(uint16_t key)
{
	return key == TAPE_CFG_COMMAND_LINE || key == TAPE_CFG_TARGET_COMMAND;
}

static bool key_is_number(uint16_t key)
{
	return key == TAPE_CFG_TARGET_PID || key == TAPE_CFG_ZERO_MONO_NS ||
	       key == TAPE_CFG_ZERO_WALL_NS;
}

static uint64_t entry_number(const struct tape_config_entry *e)
{
	return e->len == 8 ? get_le64(e->data) : e->len == 4 ? get_le32(e->data) : 0;
}

void print_header_text(FILE *out, const struct tape_header *h, const char *format_name)
{
	if (!strcmp(format_name, "mwrap"))
		fprintf(out, "# mwrap trace: no header, thread IDs, timestamps or callers\n");
	else
		fprintf(out, "# bpftape tape, format %u.%u%s\n", h->version_major, h->version_minor,
			h->checksum_bad ? " (header checksum does not match: damaged?)" : "");
	fprintf(out, "# machine: %s, %u-byte pointers, %u-byte pages\n",
		h->byte_order == TAPE_LITTLE_ENDIAN ? "little-endian" : "big-endian",
		h->pointer_size, h->page_size);
	for (uint32_t i = 0; i < h->nentries; i++) {
		const struct tape_config_entry *e = &h->entries[i];
		const char *name = tape_config_key_name(e->key);

		if (!name) {
			fprintf(out, "# key %u: %u bytes\n", e->key, e->len);
			continue;
		}
		fprintf(out, "# %s: ", name);
		if (key_is_argv(e->key)) {
			print_argv_text(out, e->data, e->len);
		} else if (e->key == TAPE_CFG_ZERO_WALL_NS) {
			print_wall(out, entry_number(e));
		} else if (key_is_number(e->key)) {
			fprintf(out, "%" PRIu64, entry_number(e));
		} else if (e->key == TAPE_CFG_LIBRARY && e->len >= 1 && e->data[0] < e->len) {
			uint8_t idlen = e->data[0];

			fprintf(out, "%.*s", (int)(e->len - 1 - idlen), e->data + 1 + idlen);
			if (idlen) {
				fprintf(out, " (build id ");
				print_build_id(out, e->data + 1, idlen);
				fputc(')', out);
			}
		} else {
			fprintf(out, "%.*s", (int)e->len, e->data);
		}
		fputc('\n', out);
	}
}

void print_header_json(FILE *out, const struct tape_header *h, const char *format_name)
{
	fprintf(out, "{\"format\":\"%s\",\"version\":\"%u.%u\",\"byte_order\":\"%s\","
		     "\"pointer_size\":%u,\"page_size\":%u,\"header_checksum_ok\":%s,\"config\":[",
		format_name, h->version_major, h->version_minor,
		h->byte_order == TAPE_LITTLE_ENDIAN ? "little" : "big", h->pointer_size,
		h->page_size, h->checksum_bad ? "false" : "true");
	for (uint32_t i = 0; i < h->nentries; i++) {
		const struct tape_config_entry *e = &h->entries[i];
		const char *name = tape_config_key_name(e->key);

		fprintf(out, "%s{\"key\":", i ? "," : "");
		if (name)
			fprintf(out, "\"%s\",\"value\":", name);
		else
			fprintf(out, "%u,\"bytes\":", e->key);
		if (!name) {
			fprintf(out, "%u", e->len);
		} else if (key_is_argv(e->key)) {
			fputc('[', out);
			for (uint32_t j = 0; j < e->len;) {
				size_t n = strnlen((const char *)e->data + j, e->len - j);

				fprintf(out, "%s", j ? "," : "");
				print_json_string(out, (const char *)e->data + j, n);
				j += n + 1;
			}
			fputc(']', out);
		} else if (key_is_number(e->key)) {
			fprintf(out, "%" PRIu64, entry_number(e));
		} else if (e->key == TAPE_CFG_LIBRARY && e->len >= 1 && e->data[0] < e->len) {
			uint8_t idlen = e->data[0];

			fprintf(out, "{\"path\":");
			print_json_string(out, (const char *)e->data + 1 + idlen, e->len - 1 - idlen);
			fprintf(out, ",\"build_id\":\"");
			print_build_id(out, e->data + 1, idlen);
			fprintf(out, "\"}");
		} else {
			print_json_string(out, (const char *)e->data, e->len);
		}
		fputc('}', out);
	}
	fprintf(out, "]}\n");
}

/* ------------------------------------------------------------------ events */

static void print_ptr(FILE *out, uint64_t p)
{
	if (p)
		fprintf(out, "0x%" PRIx64, p);
	else
		fprintf(out, "NULL");
}

/*
 * Small values as numbers, large ones (pointers, flags) in hex. An int
 * argument arrives zero-extended in its 64-bit register: AT_FDCWD is
 * 0xffffff9c, shown as -100.
 */
static void print_syscall_arg(FILE *out, uint64_t v)
{
	int64_t s = (int64_t)v;

	if (v >> 32 == 0 && (int32_t)v < 0 && (int32_t)v > -65536)
		s = (int32_t)v;
	if (s > -65536 && s < 65536)
		fprintf(out, "%" PRId64, s);
	else
		fprintf(out, "0x%" PRIx64, v);
}

static void print_alloc_text(FILE *out, const struct tape_event *ev)
{
	const struct tape_alloc *a = &ev->alloc;

	fprintf(out, "%s%s(", tape_type_name(ev->type),
		a->variant & TAPE_VARIANT_ARRAY ? "[]" : "");
	switch (ev->type) {
	case TAPE_EV_MALLOC:
	case TAPE_EV_VALLOC:
	case TAPE_EV_PVALLOC:
		fprintf(out, "%" PRIu64, a->size);
		break;
	case TAPE_EV_CALLOC:
		fprintf(out, "%" PRIu64 ", %" PRIu64, a->nmemb, a->size);
		break;
	case TAPE_EV_REALLOC:
		print_ptr(out, a->ptr);
		fprintf(out, ", %" PRIu64, a->size);
		break;
	case TAPE_EV_REALLOCARRAY:
		print_ptr(out, a->ptr);
		fprintf(out, ", %" PRIu64 ", %" PRIu64, a->nmemb, a->size);
		break;
	case TAPE_EV_POSIX_MEMALIGN:
	case TAPE_EV_ALIGNED_ALLOC:
	case TAPE_EV_MEMALIGN:
		fprintf(out, "%" PRIu64 ", %" PRIu64, a->align, a->size);
		break;
	case TAPE_EV_NEW:
		fprintf(out, "%" PRIu64, a->size);
		if (a->variant & TAPE_VARIANT_ALIGNED)
			fprintf(out, ", align_val_t(%" PRIu64 ")", a->align);
		if (a->variant & TAPE_VARIANT_NOTHROW)
			fprintf(out, ", nothrow");
		break;
	case TAPE_EV_DELETE:
	case TAPE_EV_FREE:
		print_ptr(out, a->ptr);
		if (a->variant & TAPE_VARIANT_SIZED)
			fprintf(out, ", %" PRIu64, a->size);
		if (a->variant & TAPE_VARIANT_ALIGNED)
			fprintf(out, ", align_val_t(%" PRIu64 ")", a->align);
		fputc(')', out);
		return;
	}
	fprintf(out, ") = ");
	if (ev->type == TAPE_EV_POSIX_MEMALIGN && a->err)
		fprintf(out, "%s", errno_name(a->err) ? errno_name(a->err) : "error");
	else
		print_ptr(out, a->result);
}

static void print_path(FILE *out, unsigned state, const char *path, uint32_t len)
{
	if (state == TAPE_PATH_UNREADABLE)
		fprintf(out, "<unreadable>");
	else
		fprintf(out, "\"%.*s\"%s", (int)len, path, state == TAPE_PATH_TRUNCATED ? "..." : "");
}

static void print_syscall_text(FILE *out, const struct tape_syscall *sc)
{
	const struct syscall_info *info = syscall_by_nr(sc->nr);

	if (info)
		fprintf(out, "%s(", info->name);
	else
		fprintf(out, "syscall_%u(", sc->nr);
	for (unsigned i = 0; i < sc->nargs; i++) {
		fprintf(out, "%s", i ? ", " : "");
		if (info && info->path_arg == (int)i && sc->path_state != TAPE_PATH_NONE)
			print_path(out, sc->path_state, sc->path, sc->path_len);
		else if (info && info->path2_arg == (int)i && sc->path2_state != TAPE_PATH_NONE)
			print_path(out, sc->path2_state, sc->path2, sc->path2_len);
		else
			print_syscall_arg(out, sc->args[i]);
	}
	if (sc->flags & TAPE_SYS_NO_RETURN) {
		fprintf(out, ") = ?");
		return;
	}
	fprintf(out, ") = ");
	if (sc->ret < 0 && sc->ret > -4096)
		fprintf(out, "%" PRId64 " %s", sc->ret,
			errno_name((int)-sc->ret) ? errno_name((int)-sc->ret) : "");
	else
		print_syscall_arg(out, sc->ret);
	if (sc->has_fds)
		fprintf(out, " [%d, %d]", sc->fds[0], sc->fds[1]);
	fprintf(out, " <%.3f us>", sc->duration / 1000.0);
	if (sc->stack)
		fprintf(out, " (stack #%u)", sc->stack);
}

static void print_exit_status(FILE *out, int code)
{
	if (WIFSIGNALED(code))
		fprintf(out, "killed by signal %d", WTERMSIG(code));
	else
		fprintf(out, "status %d", WEXITSTATUS(code));
}

void print_event_text(FILE *out, const struct tape_event *ev, const struct print_ctx *ctx)
{
	char caller[256];

	if (ctx->has_threads)
		fprintf(out, "%14.9f %7u/%-7u %-15s ", ev->ts / 1e9, ev->pid, ev->tid,
			ctx->comms ? comm_table__get(ctx->comms, ev->tid) : "-");
	switch (ev->type) {
	case TAPE_EV_MALLOC ... TAPE_EV_DELETE:
		print_alloc_text(out, ev);
		if (ctx->has_threads)
			fprintf(out, "  <- %s",
				describe_caller(ctx, ev->pid, ev->alloc.caller, caller, sizeof(caller)));
		if (ev->alloc.stack)
			fprintf(out, " (stack #%u)", ev->alloc.stack);
		break;
	case TAPE_EV_SYSCALL:
		print_syscall_text(out, &ev->sys);
		break;
	case TAPE_EV_FORK:
		if (ev->fork.flags & TAPE_FORK_THREAD)
			fprintf(out, "clone thread -> tid %u", ev->fork.child_tid);
		else
			fprintf(out, "fork -> pid %u", ev->fork.child_pid);
		break;
	case TAPE_EV_EXEC:
		fprintf(out, "exec %.*s", (int)ev->exec.name_len, ev->exec.filename);
		if (ev->exec.old_tid != ev->tid)
			fprintf(out, " (called by tid %u)", ev->exec.old_tid);
		break;
	case TAPE_EV_EXIT:
		fprintf(out, "%s ", ev->exit.flags & TAPE_EXIT_PROCESS ? "process exit," : "thread exit,");
		print_exit_status(out, ev->exit.code);
		break;
	case TAPE_EV_COMM:
		fprintf(out, "comm %.*s", (int)ev->comm.len, ev->comm.name);
		break;
	case TAPE_EV_MAP:
		fprintf(out, "map 0x%" PRIx64 "-0x%" PRIx64 " offset 0x%" PRIx64 " %.*s",
			ev->map.start, ev->map.end, ev->map.offset, (int)ev->map.path_len,
			ev->map.path);
		if (ev->map.build_id_len) {
			fprintf(out, " (build id ");
			print_build_id(out, ev->map.build_id, ev->map.build_id_len);
			fputc(')', out);
		}
		break;
	case TAPE_EV_STACK:
		fprintf(out, "stack #%u:", ev->stack.id);
		for (uint32_t i = 0; i < ev->stack.nframes; i++)
			fprintf(out, " 0x%" PRIx64, ev->stack.frames[i]);
		if (ev->stack.flags & TAPE_STACK_CUT)
			fprintf(out, " (cut at the recording's depth)");
		if (ev->stack.flags & TAPE_STACK_PARTIAL)
			fprintf(out, " (the walk stopped at a frame it could not unwind)");
		break;
	case TAPE_EV_PROBE:
		fprintf(out, "probes on in %.*s", (int)ev->probe.path_len, ev->probe.path);
		if (ev->probe.build_id_len) {
			fprintf(out, " (build id ");
			print_build_id(out, ev->probe.build_id, ev->probe.build_id_len);
			fputc(')', out);
		}
		break;
	case TAPE_EV_LOSS:
		if (ev->loss.count)
			fprintf(out, "LOST %" PRIu64 " %s event%s", ev->loss.count,
				ev->loss.lost_type ? tape_type_name(ev->loss.lost_type) : "",
				ev->loss.count == 1 ? "" : "s");
		else
			fprintf(out, "LOST an unknown number of %s events",
				ev->loss.lost_type ? tape_type_name(ev->loss.lost_type) :
				"allocator");
		fprintf(out, " (%s)", tape_loss_reason_name(ev->loss.reason));
		if (ev->loss.cpu != TAPE_LOSS_NO_CPU)
			fprintf(out, " on cpu %u", ev->loss.cpu);
		fprintf(out, " since %.9f", ev->loss.first_ts / 1e9);
		break;
	case TAPE_EV_ATTACH:
	case TAPE_EV_DETACH:
		fprintf(out, "%s probes%s%s", ev->type == TAPE_EV_ATTACH ? "attached" : "detached",
			ev->marker.what & TAPE_MARK_ALLOC ? " alloc" : "",
			ev->marker.what & TAPE_MARK_SYSCALLS ? " syscalls" : "");
		break;
	default:
		fprintf(out, "%s", tape_type_name(ev->type));
	}
	fputc('\n', out);
}

static void json_u(FILE *out, const char *key, uint64_t v)
{
	fprintf(out, ",\"%s\":%" PRIu64, key, v);
}

static void json_ptr(FILE *out, const char *key, uint64_t v)
{
	fprintf(out, ",\"%s\":\"0x%" PRIx64 "\"", key, v);
}

/* A file's "path" and "build_id" fields. */
static void json_file(FILE *out, const char *path, uint32_t len, const uint8_t *id, uint32_t idlen)
{
	fprintf(out, ",\"path\":");
	print_json_string(out, path, len);
	fprintf(out, ",\"build_id\":\"");
	print_build_id(out, id, idlen);
	fputc('"', out);
}

void print_event_json(FILE *out, const struct tape_event *ev, const struct print_ctx *ctx)
{
	const struct tape_alloc *a = &ev->alloc;
	char caller[256];

	fprintf(out, "{\"event\":\"%s\"", tape_type_name(ev->type));
	if (ctx->has_threads) {
		json_u(out, "ts", ev->ts);
		json_u(out, "pid", ev->pid);
		json_u(out, "tid", ev->tid);
		if (ctx->comms) {
			const char *comm = comm_table__get(ctx->comms, ev->tid);

			fprintf(out, ",\"comm\":");
			print_json_string(out, comm, strlen(comm));
		}
	}
	switch (ev->type) {
	case TAPE_EV_MALLOC ... TAPE_EV_DELETE:
		if (tape_type_frees(ev->type) || ev->type == TAPE_EV_REALLOC ||
		    ev->type == TAPE_EV_REALLOCARRAY)
			json_ptr(out, "ptr", a->ptr);
		if (!tape_type_frees(ev->type) || (a->variant & TAPE_VARIANT_SIZED))
			json_u(out, "size", a->size);
		if (ev->type == TAPE_EV_CALLOC || ev->type == TAPE_EV_REALLOCARRAY)
			json_u(out, "nmemb", a->nmemb);
		if ((ev->type >= TAPE_EV_POSIX_MEMALIGN && ev->type <= TAPE_EV_MEMALIGN) ||
		    (a->variant & TAPE_VARIANT_ALIGNED))
			json_u(out, "align", a->align);
		if (ev->type == TAPE_EV_NEW || ev->type == TAPE_EV_DELETE) {
			fprintf(out, ",\"array\":%s", a->variant & TAPE_VARIANT_ARRAY ? "true" : "false");
			if (a->variant & TAPE_VARIANT_NOTHROW)
				fprintf(out, ",\"nothrow\":true");
		}
		if (ev->type == TAPE_EV_POSIX_MEMALIGN)
			fprintf(out, ",\"err\":%d", a->err);
		if (a->stack)
			fprintf(out, ",\"stack\":%u", a->stack);
		if (!tape_type_frees(ev->type))
			json_ptr(out, "result", a->result);
		if (ctx->has_threads) {
			json_ptr(out, "caller", a->caller);
			if (ctx->sym && a->caller) {
				fprintf(out, ",\"site\":");
				describe_caller(ctx, ev->pid, a->caller, caller, sizeof(caller));
				print_json_string(out, caller, strlen(caller));
			}
		}
		break;
	case TAPE_EV_SYSCALL: {
		const struct syscall_info *info = syscall_by_nr(ev->sys.nr);
		static const char *const path_states[] = { "none", "ok", "truncated", "unreadable" };

		json_u(out, "nr", ev->sys.nr);
		if (info)
			fprintf(out, ",\"name\":\"%s\"", info->name);
		fprintf(out, ",\"args\":[");
		for (unsigned i = 0; i < ev->sys.nargs; i++)
			fprintf(out, "%s%" PRId64, i ? "," : "", (int64_t)ev->sys.args[i]);
		fprintf(out, "]");
		if (ev->sys.flags & TAPE_SYS_NO_RETURN)
			fprintf(out, ",\"returned\":false");
		else
			fprintf(out, ",\"ret\":%" PRId64 ",\"duration\":%" PRIu64, ev->sys.ret,
				ev->sys.duration);
		fprintf(out, ",\"path_state\":\"%s\"", path_states[ev->sys.path_state & 3]);
		if (ev->sys.path_state == TAPE_PATH_OK || ev->sys.path_state == TAPE_PATH_TRUNCATED) {
			fprintf(out, ",\"path\":");
			print_json_string(out, ev->sys.path, ev->sys.path_len);
		}
		if (ev->sys.path2_state != TAPE_PATH_NONE)
			fprintf(out, ",\"path2_state\":\"%s\"", path_states[ev->sys.path2_state & 3]);
		if (ev->sys.path2_state == TAPE_PATH_OK || ev->sys.path2_state == TAPE_PATH_TRUNCATED) {
			fprintf(out, ",\"path2\":");
			print_json_string(out, ev->sys.path2, ev->sys.path2_len);
		}
		if (ev->sys.has_fds)
			fprintf(out, ",\"fds\":[%d,%d]", ev->sys.fds[0], ev->sys.fds[1]);
		if (ev->sys.stack)
			fprintf(out, ",\"stack\":%u", ev->sys.stack);
		break;
	}
	case TAPE_EV_FORK:
		json_u(out, "child_pid", ev->fork.child_pid);
		json_u(out, "child_tid", ev->fork.child_tid);
		fprintf(out, ",\"thread\":%s", ev->fork.flags & TAPE_FORK_THREAD ? "true" : "false");
		break;
	case TAPE_EV_EXEC:
		json_u(out, "old_tid", ev->exec.old_tid);
		fprintf(out, ",\"filename\":");
		print_json_string(out, ev->exec.filename, ev->exec.name_len);
		break;
	case TAPE_EV_EXIT:
		fprintf(out, ",\"code\":%d,\"process\":%s", ev->exit.code,
			ev->exit.flags & TAPE_EXIT_PROCESS ? "true" : "false");
		break;
	case TAPE_EV_COMM:
		fprintf(out, ",\"name\":");
		print_json_string(out, ev->comm.name, ev->comm.len);
		break;
	case TAPE_EV_MAP:
		json_ptr(out, "start", ev->map.start);
		json_ptr(out, "end", ev->map.end);
		json_ptr(out, "offset", ev->map.offset);
		json_file(out, ev->map.path, ev->map.path_len, ev->map.build_id,
			  ev->map.build_id_len);
		break;
	case TAPE_EV_PROBE:
		json_file(out, ev->probe.path, ev->probe.path_len, ev->probe.build_id,
			  ev->probe.build_id_len);
		break;
	case TAPE_EV_STACK:
		fprintf(out, ",\"id\":%u,\"frames\":[", ev->stack.id);
		for (uint32_t i = 0; i < ev->stack.nframes; i++)
			fprintf(out, "%s\"0x%" PRIx64 "\"", i ? "," : "", ev->stack.frames[i]);
		fputc(']', out);
		if (ev->stack.flags & TAPE_STACK_CUT)
			fprintf(out, ",\"cut\":true");
		if (ev->stack.flags & TAPE_STACK_PARTIAL)
			fprintf(out, ",\"partial\":true");
		break;
	case TAPE_EV_LOSS:
		fprintf(out, ",\"lost\":\"%s\"",
			ev->loss.lost_type ? tape_type_name(ev->loss.lost_type) : "any");
		fprintf(out, ",\"reason\":\"%s\"", tape_loss_reason_name(ev->loss.reason));
		if (ev->loss.count)
			json_u(out, "count", ev->loss.count);
		else
			fprintf(out, ",\"count\":null");
		if (ev->loss.cpu != TAPE_LOSS_NO_CPU)
			json_u(out, "cpu", ev->loss.cpu);
		json_u(out, "first_ts", ev->loss.first_ts);
		break;
	case TAPE_EV_ATTACH:
	case TAPE_EV_DETACH:
		fprintf(out, ",\"alloc\":%s,\"syscalls\":%s",
			ev->marker.what & TAPE_MARK_ALLOC ? "true" : "false",
			ev->marker.what & TAPE_MARK_SYSCALLS ? "true" : "false");
		break;
	}
	if (ctx->json_extra)
		ctx->json_extra(out, ev, ctx->extra_arg);
	fprintf(out, "}\n");
}
