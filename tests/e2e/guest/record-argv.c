/* The executable of the unit-syntax corpus's commands: appends the
 * arguments systemd ran it with, argv[0] first, to the file named by
 * RECORD_TO below, as one line holding a JSON array of strings escaped as
 * serde_json escapes them (so that the line compares byte for byte with
 * what `kmod-ready check --json` prints). A C program, not a script: the
 * kernel replaces a script's argv[0] with its path, and the `@` prefix
 * sets argv[0]. Built static by tests/e2e/run, so one binary suits the C
 * library of every guest. */
#include <stdio.h>

#define RECORD_TO "/run/unit-syntax/argv"

static void put_string(FILE *out, const unsigned char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        switch (*s) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*s < 0x20)
                fprintf(out, "\\u%04x", *s);
            else
                fputc(*s, out);
        }
    }
    fputc('"', out);
}

int main(int argc, char **argv)
{
    FILE *out = fopen(RECORD_TO, "a");
    if (!out)
        return 1;
    fputc('[', out);
    for (int i = 0; i < argc; i++) {
        if (i)
            fputc(',', out);
        put_string(out, (const unsigned char *)argv[i]);
    }
    fputs("]\n", out);
    return fclose(out) == 0 ? 0 : 1;
}
