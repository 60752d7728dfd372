/* The small project's program: its units, called once each. */
#include <stdio.h>
#include <stdlib.h>

char *alpha(const char *s);
char *beta(const char *s);
char *gamma(const char *s);
char *delta(const char *s);

int main(void)
{
	char *(*units[])(const char *) = { alpha, beta, gamma, delta };

	for (int i = 0; i < 4; i++) {
		char *s = units[i]("unit");

		puts(s ? s : "(none)");
		free(s);
	}
	return 0;
}
