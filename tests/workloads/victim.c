/* A program linked with a hostile dynamic linker (evil_interp): it never runs itself. */
int main(void)
{
	return 0;
}
