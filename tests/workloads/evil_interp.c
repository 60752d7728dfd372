/*
 * A hostile "dynamic linker": tests link a program with
 * -Wl,--dynamic-linker pointing here. Whoever runs it (the kernel, for the
 * program, as its user; or, if the recorder ever ran a target's loader, the
 * recorder as root) leaves $MARKER_DIR/ran.UID behind. Freestanding (no
 * libc, raw system calls): as an interpreter it gets the program's auxiliary
 * vector, which a libc's start-up code would misread.
 */
#if defined(__x86_64__)
#define NR_WRITE 1
#define NR_OPEN 2
#define NR_CLOSE 3
#define NR_GETEUID 107
#define NR_NANOSLEEP 35
#define NR_EXIT 60

static long sys3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

/* The kernel starts us with argc, argv, NULL, envp, NULL on the stack. */
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall evil_main\n\thlt\n");

static int starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

void evil_main(long *sp)
{
	char **envp = (char **)(sp + 1 + sp[0] + 1), path[4096];
	unsigned long uid = sys3(NR_GETEUID, 0, 0, 0);

	for (; *envp; envp++) {
		const char *dir = *envp + 11;
		char digits[24];
		int n = 0, d = 0;

		if (!starts_with(*envp, "MARKER_DIR="))
			continue;
		while (*dir && n < 4000)
			path[n++] = *dir++;
		for (const char *s = "/ran."; *s;)
			path[n++] = *s++;
		do
			digits[d++] = '0' + uid % 10;
		while ((uid /= 10));
		while (d)
			path[n++] = digits[--d];
		path[n] = 0;
		sys3(NR_CLOSE, sys3(NR_OPEN, (long)path, 0101 /* O_WRONLY|O_CREAT */, 0644), 0, 0);
	}
	/* Live a moment, as a real program would: long enough to be looked at. */
	{
		long ts[2] = { 0, 300 * 1000 * 1000 };

		sys3(NR_NANOSLEEP, (long)ts, 0, 0);
	}
	sys3(NR_EXIT, 0, 0, 0);
}
#else
#error "evil_interp is written for x86-64"
#endif
